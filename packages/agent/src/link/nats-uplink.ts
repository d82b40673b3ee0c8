// The agent's side of the NATS data plane (`fleet agent --nats URL`): log
// lines, events and metric samples go to fleet.<cluster>.{logs,events,metrics}
// (subjects in @fleet/protocol nats-subjects.ts) instead of up the gRPC link,
// which keeps the control: register, commands, state. NATS never holds the
// agent up: lines wait in the link's bounded buffer while NATS or every
// controller is away (then the oldest are dropped and the count travels on),
// messages in flight are bounded by the same size, and the client redials by
// itself. Loaded only with --nats.
import {
  AgentMessage,
  type AppInfo,
  type Heartbeat,
  LogBatch,
  type LogLine,
  NATS_HEADERS,
  NatsSubjects,
  type NatsTarget,
} from '@fleet/protocol';
import { guarded, NatsSession } from '@fleet/protocol/nats';
import { createInbox, headers, type Msg, type NatsConnection, type Subscription } from 'nats';
import type { DataPlane } from './data-plane';
import { diffEvents, type EventState } from './event-state';
import type { LogBuffer } from './log-buffer';
import { type InFlight, NatsOutbox } from './nats-outbox';

export interface NatsUplinkOptions {
  target: NatsTarget;
  /** This host's name in the fleet: the subjects' <host>. */
  host: string;
  /** This agent process (Register.instance_id): numbers are its own. */
  instanceId: string;
  log: (msg: string) => void;
  snapshot: () => AppInfo[];
  vitals: () => Heartbeat;
  /** Between two metric samples. @default 5000 */
  metricsIntervalMs?: number;
  /** How often the apps are looked at for events. @default 1000 */
  stateIntervalMs?: number;
  /** Unanswered this long, a message is sent again. @default 5000 */
  ackTimeoutMs?: number;
  /** Events kept while no controller takes them; then the oldest go. @default 1000 */
  maxQueuedEvents?: number;
  now?: () => number;
}

/** Lines per message, at most (one app's lines of one take from the buffer). */
const BATCH_LINES = 1000;
/** A longer line is cut (with a marker): one line must never make a message NATS refuses. */
const MAX_LINE_BYTES = 64 * 1024;

/** Splits one app's lines into batches of at most `maxBytes` (roughly: text plus per-line overhead), cutting giant lines. */
export function chunksWithin(lines: LogLine[], maxBytes: number): LogLine[][] {
  const out: LogLine[][] = [];
  let chunk: LogLine[] = [];
  let bytes = 0;
  for (const original of lines) {
    let line = original;
    const size = Buffer.byteLength(line.line);
    if (size > MAX_LINE_BYTES) {
      const kept = Buffer.from(line.line).subarray(0, MAX_LINE_BYTES).toString('utf8');
      line = { ...line, line: `${kept}… [fleet: ${size - MAX_LINE_BYTES} more bytes cut]` };
    }
    const cost = Buffer.byteLength(line.line) + 128;
    if (chunk.length > 0 && bytes + cost > maxBytes) {
      out.push(chunk);
      chunk = [];
      bytes = 0;
    }
    chunk.push(line);
    bytes += cost;
  }
  if (chunk.length > 0) out.push(chunk);
  return out;
}
/** No controller listened: the next try after this long. */
const NO_LISTENER_RETRY_MS = 1000;

export class NatsUplink implements DataPlane {
  private readonly subjects: NatsSubjects;
  private readonly session: NatsSession;
  private readonly outbox = new NatsOutbox();
  private readonly now: () => number;
  private buffer?: LogBuffer;
  private confirm: (lines: LogLine[]) => void = () => undefined;
  private nc?: NatsConnection;
  private inbox = '';
  private inboxSub?: Subscription;
  private onlineSub?: Subscription;
  private timers: NodeJS.Timeout[] = [];
  private flushScheduled = false;
  private pausedUntil = 0;
  private stopped = false;
  private events: AgentMessage[] = [];
  private eventState?: EventState;
  private eventsDropped = 0;
  /** Since when no controller answered (503 no responders), for one log line per streak. */
  private unheardSince?: number;
  private lastFailure = '';

  constructor(private readonly opts: NatsUplinkOptions) {
    this.subjects = new NatsSubjects(opts.target.cluster);
    this.now = opts.now ?? Date.now;
    this.session = new NatsSession({ target: opts.target, name: `fleet agent ${opts.host}`, log: opts.log });
  }

  start(buffer: LogBuffer, confirm: (lines: LogLine[]) => void): void {
    this.buffer = buffer;
    this.confirm = confirm;
    this.session.start({
      ready: (nc) => this.onReady(nc),
      up: () => this.resendAll(),
    });
    const every = (ms: number, fn: () => void): void => {
      const t = setInterval(() => this.safely(fn), ms);
      t.unref();
      this.timers.push(t);
    };
    every(250, () => this.retryDue());
    every(this.opts.stateIntervalMs ?? 1000, () => this.pushEvents());
    every(this.opts.metricsIntervalMs ?? 5000, () => this.sample());
    this.safely(() => this.pushEvents());
  }

  linesWaiting(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    // A short pause gathers a burst of lines into one message.
    setTimeout(() => {
      this.flushScheduled = false;
      this.safely(() => this.flush());
    }, 5);
  }

  /** Nothing here may take the agent down: a failure is told (once per kind) and the next tick tries again. */
  private safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      const text = (err as Error).message;
      if (text !== this.lastFailure) this.opts.log(`NATS data plane: ${text}`);
      this.lastFailure = text;
    }
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    this.inboxSub?.unsubscribe();
    this.onlineSub?.unsubscribe();
    void this.session.close();
  }

  private onReady(nc: NatsConnection): void {
    this.nc = nc;
    this.inbox = createInbox();
    this.inboxSub = nc.subscribe(`${this.inbox}.*`, { callback: guarded(this.opts.log, 'answers', (msg) => this.onAnswer(msg)) });
    this.onlineSub = nc.subscribe(this.subjects.online, { callback: guarded(this.opts.log, 'ctl.online', () => this.resendAll()) });
    this.resendAll();
  }

  /**
   * Everything not yet acknowledged goes again now, first, in order, then whatever waits behind it.
   * On (re)connecting: it may have been lost with the old connection. When a controller joins (after
   * a NATS restart it may come after this agent): even what was just sent may have found only the
   * JetStream stream, or nobody, listening (the stream answers for the controllers, so no "no
   * responders" says none was there). A copy is skipped on the other side.
   */
  private resendAll(): void {
    const now = this.now();
    for (const f of this.outbox.all()) {
      this.outbox.resent(f, now);
      this.publish(f);
    }
    this.pausedUntil = 0;
    this.flush();
  }

  private get canSend(): boolean {
    return !this.stopped && !!this.nc && this.session.connected && this.now() >= this.pausedUntil;
  }

  /**
   * Sends events, then buffered lines, while the messages in flight stay within
   * the buffer's size. While no controller listens, only the retries probe.
   */
  private flush(): void {
    const buffer = this.buffer;
    if (!buffer || !this.canSend || this.unheardSince !== undefined) return;
    const bound = Math.max(1, buffer.capacity);
    while (this.events.length > 0 && this.outbox.weight < bound) {
      const event = this.events.shift()!;
      this.send(this.subjects.events(this.opts.host), AgentMessage.encode(event).finish(), [], 1);
    }
    while (buffer.size > 0 && this.outbox.weight < bound) {
      const { lines, dropped } = buffer.take(BATCH_LINES);
      if (dropped > 0) {
        this.send(this.subjects.hostLogs(this.opts.host), LogBatch.encode({ lines: [], dropped, seq: 0 }).finish(), [], 1);
      }
      // One message per app: its subject says which, so followers and consumers filter on the server.
      const byApp = new Map<string, LogLine[]>();
      for (const line of lines) {
        const group = byApp.get(line.app);
        if (group) group.push(line);
        else byApp.set(line.app, [line]);
      }
      for (const [app, group] of byApp) {
        for (const chunk of chunksWithin(group, this.maxMessageBytes())) {
          this.send(this.subjects.logs(this.opts.host, app), LogBatch.encode({ lines: chunk, dropped: 0, seq: 0 }).finish(), chunk, chunk.length);
        }
      }
    }
  }

  /** Under the server's max_payload (1 MB by default), with room for headers: a bigger message is refused, forever. */
  private maxMessageBytes(): number {
    const serverMax = this.nc?.info?.max_payload ?? 1024 * 1024;
    return Math.max(16 * 1024, Math.min(512 * 1024, serverMax - 8 * 1024));
  }

  private send(subject: string, data: Uint8Array, lines: LogLine[], weight: number): void {
    this.publish(this.outbox.add({ subject, data, lines, weight }, this.now()));
  }

  private publish(f: InFlight): void {
    const nc = this.nc;
    if (!nc || nc.isClosed()) return; // stays in flight: sent on the next connection
    const h = headers();
    h.set(NATS_HEADERS.agent, this.opts.instanceId);
    h.set(NATS_HEADERS.seq, String(f.seq));
    h.set(NATS_HEADERS.floor, String(this.outbox.floor));
    h.set(NATS_HEADERS.msgId, `${this.opts.instanceId}-${f.seq}`);
    if (f.resend) h.set(NATS_HEADERS.resend, '1');
    try {
      nc.publish(f.subject, f.data, { reply: `${this.inbox}.${f.seq}`, headers: h });
    } catch (err) {
      // Closing or closed under us: it stays in flight.
      this.opts.log(`NATS publish failed: ${(err as Error).message}`);
    }
  }

  private onAnswer(msg: Msg): void {
    const seq = Number(msg.subject.slice(this.inbox.length + 1));
    if (msg.headers?.has(NATS_HEADERS.ack)) {
      if (this.unheardSince !== undefined) {
        this.opts.log(`a controller takes this host's logs over NATS again (none did for ${Math.round((this.now() - this.unheardSince) / 1000)} s)`);
        this.unheardSince = undefined;
      }
      for (const f of this.outbox.ack(seq)) if (f.lines.length > 0) this.confirm(f.lines);
      if (this.buffer && this.buffer.size > 0) this.linesWaiting();
      return;
    }
    if (msg.headers?.hasError && msg.headers.code === 503) {
      // Nobody subscribes to the subject: no controller with --nats on this cluster.
      const now = this.now();
      this.outbox.retryLater(seq, now, NO_LISTENER_RETRY_MS);
      this.pausedUntil = now + NO_LISTENER_RETRY_MS;
      if (this.unheardSince === undefined) {
        this.unheardSince = now;
        this.opts.log(
          `no controller takes ${this.subjects.prefix}.logs on NATS (none running with --nats ${this.opts.target.display} --nats-cluster ${this.subjects.cluster}?); ` +
            `lines wait in the buffer (${this.buffer?.capacity ?? 0} at most), then the oldest are dropped and counted`,
        );
      }
    }
    // Anything else (a JetStream stream's PubAck when --nats-logs-retention keeps the subjects) is not a controller's answer.
  }

  private retryDue(): void {
    if (!this.canSend) return;
    const now = this.now();
    const due = this.outbox.due(now, this.opts.ackTimeoutMs ?? 5000);
    // Nobody listened last time: one message asks whether a controller is back.
    for (const f of this.unheardSince === undefined ? due : due.slice(0, 1)) {
      this.outbox.resent(f, now);
      this.publish(f);
    }
    this.flush();
  }

  /** Instance life changes since the last look become an event (the first look: a snapshot). */
  private pushEvents(): void {
    if (this.stopped) return;
    const apps = this.opts.snapshot();
    if (!this.eventState) {
      this.eventState = diffEvents(new Map(), apps).next;
      this.queueEvent(AgentMessage.fromPartial({ snapshot: { apps } }));
    } else {
      const { delta, next } = diffEvents(this.eventState, apps);
      this.eventState = next;
      if (delta.changed.length > 0 || delta.removed.length > 0) this.queueEvent(AgentMessage.fromPartial({ delta }));
    }
    this.flush();
  }

  private queueEvent(event: AgentMessage): void {
    this.events.push(event);
    const max = this.opts.maxQueuedEvents ?? 1000;
    if (this.events.length <= max) return;
    this.events.shift();
    if (this.eventsDropped++ === 0) this.opts.log(`events dropped: more than ${max} waited for NATS; the state itself is safe on the controller link`);
  }

  /** Host vitals and each instance's figures; best effort, only while connected (the next sample replaces a lost one). */
  private sample(): void {
    const nc = this.nc;
    if (!nc || !this.session.connected || this.stopped) return;
    try {
      const msg = AgentMessage.fromPartial({ heartbeat: this.opts.vitals(), snapshot: { apps: this.opts.snapshot() } });
      nc.publish(this.subjects.metrics(this.opts.host), AgentMessage.encode(msg).finish());
    } catch (err) {
      this.opts.log(`NATS metrics sample not sent: ${(err as Error).message}`);
    }
  }
}
