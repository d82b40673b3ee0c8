// The agent's link to its controller: dials out (no open port on the host),
// registers, then keeps heartbeats, state and log lines flowing up and runs the
// commands that come down. When the controller is gone nothing on the host
// changes; the link redials with jittered backoff and resyncs.
import * as fs from 'node:fs';
import {
  type AgentMessage,
  type ArtifactChunk,
  type ArtifactRef,
  UnavailableError,
  type Heartbeat,
  type LogBatch,
  AgentLinkClient,
  type ControllerMessage,
  fromServiceError,
  type Register,
} from '@fleet/protocol';
import { type ChannelCredentials, type ClientDuplexStream, Metadata, type ServiceError } from '@grpc/grpc-js';
import type { HostService } from '../daemon/host-service';
import { CommandRunner } from './command-runner';
import type { DataPlane } from './data-plane';
import { LogShipper } from './log-shipper';
import { reconnectDelay } from './reconnect-backoff';
import { ShippedPositions } from './shipped-positions';
import { diffState, encodeState, isEmptyDelta, type SentState } from './state-diff';

export interface ControllerLinkOptions {
  /** host:port */
  address: string;
  credentials: ChannelCredentials;
  token?: string;
  identity: () => Register;
  host: HostService;
  log: (msg: string) => void;
  /** Lines held while the controller is away. */
  logBufferLines?: number;
  /** Where confirmed log positions are kept, so a restarted agent resumes each file there. */
  positionsFile?: string;
  /** The host's load, memory and disk, for each heartbeat. */
  vitals: () => Heartbeat;
  /** How often the agent looks for state changes to send. */
  stateIntervalMs?: number;
  random?: () => number;
  /** Takes the log lines instead of this link (NATS); the link keeps the control. @default none: lines go up the link */
  dataPlane?: DataPlane;
}

const BATCH_LINES = 1000;

/** grpc stamps some messages with the time: compared without it, a lasting problem is logged once. */
function withoutTimes(text: string): string {
  return text.replace(/\([^)]*\d{2}:\d{2}:\d{2}[^)]*\)/g, '');
}

export class ControllerLink {
  private client?: AgentLinkClient;
  private stream?: ClientDuplexStream<AgentMessage, ControllerMessage>;
  private connected = false;
  private stopped = false;
  private attempt = 0;
  private sent: SentState = new Map();
  private heartbeatTimer?: NodeJS.Timeout;
  private stateTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private flushScheduled = false;
  private blocked = false;
  private lastProblem = '';
  /** Batches sent but not yet acknowledged: sent again after a reconnect, so a controller crash loses none. */
  private unacked: LogBatch[] = [];
  private unackedLines = 0;
  private logSeq = 0;
  private readonly commands: CommandRunner;
  private readonly shipper: LogShipper;
  private readonly positions?: ShippedPositions;
  private positionsTimer?: NodeJS.Timeout;

  constructor(private readonly opts: ControllerLinkOptions) {
    this.commands = new CommandRunner(opts.host);
    this.positions = opts.positionsFile ? new ShippedPositions(opts.positionsFile) : undefined;
    this.shipper = new LogShipper(
      (req, emit, resume) => opts.host.follow(req, emit, resume),
      opts.logBufferLines ?? 10_000,
      () => (opts.dataPlane ? opts.dataPlane.linesWaiting() : this.scheduleFlush()),
      opts.log,
      this.positions,
    );
  }

  start(): void {
    // Lines are followed from now on, connected or not: the buffer bridges outages.
    this.shipper.sync(this.opts.host.snapshot());
    this.opts.dataPlane?.start(this.shipper.buffer, (lines) => this.positions?.confirm(lines));
    this.stateTimer = setInterval(() => this.pushState(), this.opts.stateIntervalMs ?? 1000);
    this.stateTimer.unref();
    if (this.positions) {
      this.positionsTimer = setInterval(() => this.positions!.save(), 1000);
      this.positionsTimer.unref();
    }
    this.dial();
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.stateTimer);
    clearInterval(this.positionsTimer);
    this.positions?.save();
    clearInterval(this.heartbeatTimer);
    clearTimeout(this.retryTimer);
    this.shipper.stop();
    this.opts.dataPlane?.stop();
    this.stream?.end();
    this.client?.close();
  }

  get isConnected(): boolean {
    return this.connected;
  }

  /** Downloads a release artifact from the controller into `file` (the caller verifies the digest). */
  fetchArtifact(ref: ArtifactRef, file: string): Promise<void> {
    const client = this.client;
    if (!client) return Promise.reject(new UnavailableError('not connected to the controller'));
    const metadata = new Metadata();
    if (this.opts.token) metadata.set('authorization', `Bearer ${this.opts.token}`);
    return new Promise<void>((resolve, reject) => {
      const out = fs.createWriteStream(file, { mode: 0o600 });
      const call = client.fetchArtifact(ref, metadata);
      const fail = (err: Error): void => {
        call.cancel();
        out.destroy();
        reject('code' in err ? fromServiceError(err as ServiceError) : err);
      };
      call.on('data', (chunk: ArtifactChunk) => {
        if (!out.write(chunk.data)) {
          call.pause();
          out.once('drain', () => call.resume());
        }
      });
      call.on('error', fail);
      out.on('error', fail);
      call.on('end', () => out.end(() => resolve()));
    });
  }

  private dial(): void {
    if (this.stopped) return;
    this.client?.close();
    this.client = new AgentLinkClient(this.opts.address, this.opts.credentials, {
      // Find a dead controller (or a dead path to it) even when no command is in flight.
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
      'grpc.initial_reconnect_backoff_ms': 500,
      'grpc.max_reconnect_backoff_ms': 5_000,
      'grpc.max_receive_message_length': 64 * 1024 * 1024,
    });
    const metadata = new Metadata();
    if (this.opts.token) metadata.set('authorization', `Bearer ${this.opts.token}`);
    const stream = this.client.connect(metadata);
    this.stream = stream;
    stream.on('data', (msg: ControllerMessage) => this.onMessage(stream, msg));
    stream.on('error', (err: ServiceError) => this.onClosed(stream, err));
    stream.on('end', () => this.onClosed(stream));
    stream.write({ register: this.opts.identity() });
  }

  private onMessage(stream: ClientDuplexStream<AgentMessage, ControllerMessage>, msg: ControllerMessage): void {
    if (stream !== this.stream) return;
    if (msg.registered) {
      this.connected = true;
      this.attempt = 0;
      if (this.lastProblem) this.opts.log(`connected to the controller at ${this.opts.address} again`);
      else this.opts.log(`connected to the controller at ${this.opts.address}`);
      this.lastProblem = '';
      const apps = this.opts.host.snapshot();
      this.sent = encodeState(apps);
      this.send({ snapshot: { apps } });
      const every = Math.max(100, msg.registered.heartbeatIntervalMs || 5000);
      clearInterval(this.heartbeatTimer);
      this.heartbeatTimer = setInterval(() => this.send({ heartbeat: this.opts.vitals() }), every);
      this.heartbeatTimer.unref();
      // What the last controller may never have received goes first, in order.
      for (const batch of this.unacked) this.send({ logs: batch });
      this.flush();
    }
    if (msg.logAck) {
      const upTo = msg.logAck.seq;
      while (this.unacked.length > 0 && this.unacked[0].seq <= upTo) {
        const batch = this.unacked.shift()!;
        this.unackedLines -= batch.lines.length;
        this.positions?.confirm(batch.lines);
      }
      if (this.shipper.buffer.size > 0) this.scheduleFlush();
    }
    if (msg.command) {
      const cmd = msg.command;
      this.commands.run(cmd).then((result) => {
        // The controller's view is fresh when the command's caller gets its answer.
        this.pushState();
        if (stream === this.stream) this.send({ result });
      });
    }
  }

  private onClosed(stream: ClientDuplexStream<AgentMessage, ControllerMessage>, err?: ServiceError): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    this.connected = false;
    this.blocked = false;
    clearInterval(this.heartbeatTimer);
    if (this.stopped) return;
    const problem = err ? fromServiceError(err) : undefined;
    const text = problem
      ? `${problem.message}${problem.hint ? ` (${problem.hint})` : ''}`
      : 'the controller closed the link';
    const delay = reconnectDelay(this.attempt++, this.opts.random ?? Math.random);
    if (withoutTimes(text) !== withoutTimes(this.lastProblem)) {
      this.opts.log(`controller ${this.opts.address}: ${text}; apps keep running, retrying (next in ${Math.round(delay)} ms)`);
      this.lastProblem = text;
    }
    this.retryTimer = setTimeout(() => this.dial(), delay);
  }

  private send(msg: AgentMessage): boolean {
    const stream = this.stream;
    if (!stream || !this.connected) return false;
    return stream.write(msg);
  }

  /** Sends what changed since the last report; also keeps the log followers in step with the apps. */
  private pushState(): void {
    const apps = this.opts.host.snapshot();
    this.shipper.sync(apps);
    if (!this.connected) return;
    const { delta, next } = diffState(this.sent, apps);
    if (isEmptyDelta(delta)) return;
    this.sent = next;
    this.send({ delta });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || !this.connected || this.blocked || this.opts.dataPlane) return;
    this.flushScheduled = true;
    // A short pause gathers a burst of lines into one batch.
    setTimeout(() => {
      this.flushScheduled = false;
      this.flush();
    }, 5);
  }

  /**
   * Sends buffered lines until the stream pushes back (then waits for it to
   * drain) or too many wait for an acknowledgement (then waits for acks).
   */
  private flush(): void {
    const stream = this.stream;
    if (!stream || !this.connected || this.blocked || this.opts.dataPlane) return;
    while (this.shipper.buffer.size > 0 && this.unackedLines < this.shipper.buffer.capacity) {
      const batch: LogBatch = { ...this.shipper.buffer.take(BATCH_LINES), seq: ++this.logSeq };
      this.unacked.push(batch);
      this.unackedLines += batch.lines.length;
      if (!stream.write({ logs: batch })) {
        this.blocked = true;
        stream.once('drain', () => {
          this.blocked = false;
          if (stream === this.stream) this.flush();
        });
        return;
      }
    }
  }
}
