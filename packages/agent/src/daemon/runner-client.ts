// The agent's end of one runner's socket: requests matched to responses by id,
// pushed state changes surfaced as events. A closed socket fails pending
// requests with UnavailableError; the registry decides whether to respawn.
import { EventEmitter } from 'node:events';
import * as net from 'node:net';
import {
  FLEET_VERSION,
  LineDecoder,
  RUNNER_PROTOCOL_VERSION,
  RunnerRequest,
  RunnerResponse,
  type RunnerState,
  UnavailableError,
  errorFromCode,
} from '@fleet/protocol';

type RequestBody = Omit<RunnerRequest, 'id'>;

interface Pending {
  resolve: (r: RunnerResponse) => void;
  reject: (e: Error) => void;
}

export class RunnerClient extends EventEmitter<{ state: [RunnerState]; close: [] }> {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private closed = false;
  lastState?: RunnerState;

  private constructor(
    private readonly socket: net.Socket,
    readonly app: string,
  ) {
    super();
    const decoder = new LineDecoder();
    socket.on('data', (chunk) => {
      for (const line of decoder.push(chunk.toString('utf8'))) {
        if (line.trim()) this.onLine(line);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('close', () => {
      this.closed = true;
      for (const p of this.pending.values()) p.reject(new UnavailableError(`runner of ${app} went away`, { app }));
      this.pending.clear();
      this.emit('close');
    });
  }

  /** Connects and says hello; resolves with a client holding the runner's current state. */
  static async connect(socketPath: string, app: string, timeoutMs = 2000): Promise<RunnerClient> {
    const socket = await new Promise<net.Socket>((resolve, reject) => {
      const s = net.connect(socketPath);
      const timer = setTimeout(() => {
        s.destroy();
        reject(new UnavailableError(`runner of ${app} did not answer on ${socketPath}`, { app }));
      }, timeoutMs);
      s.once('connect', () => {
        clearTimeout(timer);
        resolve(s);
      });
      s.once('error', (err) => {
        clearTimeout(timer);
        reject(new UnavailableError(`runner of ${app} unreachable: ${err.message}`, { app, cause: err }));
      });
    });
    const client = new RunnerClient(socket, app);
    await client.request({ hello: { protocolVersion: RUNNER_PROTOCOL_VERSION, agentVersion: FLEET_VERSION } }, timeoutMs);
    return client;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  /** Sends a request; rejects with the FleetError the runner reported. */
  request(body: RequestBody, timeoutMs = 0): Promise<RunnerState> {
    if (this.closed) return Promise.reject(new UnavailableError(`runner of ${this.app} is not connected`, { app: this.app }));
    const id = this.nextId++;
    return new Promise<RunnerState>((resolve, reject) => {
      const timer = timeoutMs > 0 ? setTimeout(() => {
        this.pending.delete(id);
        reject(new UnavailableError(`runner of ${this.app} did not answer within ${timeoutMs} ms`, { app: this.app }));
      }, timeoutMs) : undefined;
      this.pending.set(id, {
        resolve: (r) => {
          clearTimeout(timer);
          if (r.state) this.lastState = r.state;
          if (r.error) reject(errorFromCode(r.errorCode, r.error, { app: this.app }));
          else resolve(r.state!);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      // Complete messages as plain JSON: the runner does not load the codec (runner-protocol.ts).
      this.socket.write(JSON.stringify(RunnerRequest.fromPartial({ id, ...body })) + '\n');
    });
  }

  close(): void {
    this.socket.destroy();
  }

  private onLine(line: string): void {
    let msg: RunnerResponse;
    try {
      msg = RunnerResponse.fromJSON(JSON.parse(line));
    } catch {
      return; // a garbled line from a runner is not worth killing the agent for
    }
    if (msg.event) {
      if (msg.state) {
        this.lastState = msg.state;
        this.emit('state', msg.state);
      }
      return;
    }
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    p.resolve(msg);
  }
}
