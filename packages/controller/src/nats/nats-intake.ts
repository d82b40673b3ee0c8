// This controller's share of the NATS data plane: a member of the queue group
// `fleet-controllers` on the log, event and metric subjects, so that every
// message is taken by exactly one controller of the fleet. Log lines go into
// this controller's windows (LogHub.keep: its followers are served by their
// own subscriptions, see nats-log-feed.ts); events and samples are counted and
// handed on. Logs and events are acknowledged once taken; a resent one is
// skipped when this controller or a peer (asked on ctl.taken) took it already.
// It also answers its peers: ctl.taken, and ctl.recent with its windows' lines.
import {
  AgentMessage,
  LogBatch,
  LogLine,
  LogStream,
  NATS_HEADERS,
  NATS_QUEUE,
  type NatsSubjects,
  type ParsedSubject,
} from '@fleet/protocol';
import { guarded } from '@fleet/protocol/nats';
import { Empty, headers, type Msg, type NatsConnection, RequestStrategy, type Subscription } from 'nats';
import type { LogFilter, LogHub } from '../log-hub';
import type { BatchDecoder } from './batch-decoder';
import { DeliveryLedger } from './delivery-ledger';

/** Which agent message a line came in: kept beside the windows, so a follower can tell what it has not shown. */
export type LineStamps = WeakMap<LogLine, BatchStamp>;

export interface BatchStamp {
  agent: string;
  seq: number;
}

export interface NatsIntakeOptions {
  subjects: NatsSubjects;
  hub: LogHub;
  stamps: LineStamps;
  decoder: BatchDecoder;
  log: (msg: string) => void;
  /** An agent's state change, restart or release, taken by this controller. */
  onEvent?: (host: string, msg: AgentMessage) => void;
  /** An agent's metric sample, taken by this controller. */
  onMetrics?: (host: string, msg: AgentMessage) => void;
  /** A peer controller joined the queue group (again). */
  onPeerOnline?: () => void;
  /** How long a controller waits for its peers' answers after the last one came. @default 100 */
  peerJitterMs?: number;
}

export interface NatsIntakeStats {
  logBatches: number;
  logLines: number;
  /** Lines the agents reported dropped (their buffers overflowed). */
  droppedLines: number;
  events: number;
  metrics: number;
  /** Messages delivered again and skipped: taken already, here or by a peer. */
  duplicates: number;
  /** Messages that could not be read (not a Fleet payload). */
  malformed: number;
}

/** The agent's identity and numbering of a message, from its headers. */
export interface Stamp {
  agent: string;
  seq: number;
  floor: number;
  resend: boolean;
}

export function stampOf(msg: Msg): Stamp | undefined {
  const h = msg.headers;
  const agent = h?.get(NATS_HEADERS.agent);
  const seq = Number(h?.get(NATS_HEADERS.seq));
  if (!agent || !Number.isSafeInteger(seq) || seq <= 0) return undefined;
  const floor = Number(h?.get(NATS_HEADERS.floor));
  return { agent, seq, floor: Number.isSafeInteger(floor) ? floor : 0, resend: h?.get(NATS_HEADERS.resend) === '1' };
}

/** A batch as lines: host and app from the subject, a drop count as a visible line first. Pure. */
export function batchLines(at: ParsedSubject, batch: LogBatch, now: number): LogLine[] {
  const out = batch.lines.map((l) => ({ ...l, host: at.host, app: at.app ?? l.app }));
  if (batch.dropped > 0) {
    out.unshift({
      app: '',
      instance: 0,
      stream: LogStream.LOG_STREAM_ERR,
      line: `[fleet] ${batch.dropped} log lines from ${at.host} were dropped: its buffer was full while NATS (or every controller on it) was unreachable`,
      timeMs: now,
      host: at.host,
      dropped: batch.dropped,
    });
  }
  return out;
}

/** A ctl.recent answer (JSON): window lines in runs of one agent message each (no stamp: not from NATS). */
export interface RecentAnswer {
  batches: { agent?: string; seq?: number; lines: unknown[] }[];
}

export function encodeRecent(lines: LogLine[], stamps: LineStamps): RecentAnswer {
  const batches: RecentAnswer['batches'] = [];
  let last: BatchStamp | undefined;
  for (const line of lines) {
    const stamp = stamps.get(line);
    const run = batches.at(-1);
    if (run && stamp === last) run.lines.push(LogLine.toJSON(line));
    else batches.push({ agent: stamp?.agent, seq: stamp?.seq, lines: [LogLine.toJSON(line)] });
    last = stamp;
  }
  return { batches };
}

/** The lines of an answer, each stamped again (into `stamps`) with the message it came in. */
export function decodeRecent(answer: RecentAnswer, stamps: LineStamps): LogLine[] {
  const out: LogLine[] = [];
  for (const b of answer.batches ?? []) {
    const stamp = b.agent && b.seq ? { agent: b.agent, seq: b.seq } : undefined;
    for (const json of b.lines ?? []) {
      const line = LogLine.fromJSON(json);
      if (stamp) stamps.set(line, stamp);
      out.push(line);
    }
  }
  return out;
}

/** The filter of a ctl.recent request, as JSON. */
export interface RecentQuery {
  hosts?: string[];
  apps?: string[];
  stream: LogStream;
  grep?: string;
  n: number;
}

export function recentQuery(filter: LogFilter, n: number): RecentQuery {
  return { hosts: filter.hosts && [...filter.hosts], apps: filter.apps && [...filter.apps], stream: filter.stream, grep: filter.grep, n };
}

/** Asks every peer controller; the answers that came before they stopped coming. No peer: none. */
export async function askPeers(nc: NatsConnection, subject: string, payload: Uint8Array, jitterMs: number): Promise<Msg[]> {
  const out: Msg[] = [];
  try {
    const answers = await nc.requestMany(subject, payload, { strategy: RequestStrategy.JitterTimer, jitter: jitterMs, maxWait: 2_000 });
    for await (const m of answers) out.push(m);
  } catch {
    // No responders (no peer) or the connection dropped: what came is what there is.
  }
  return out;
}

export class NatsIntake {
  readonly stats: NatsIntakeStats = { logBatches: 0, logLines: 0, droppedLines: 0, events: 0, metrics: 0, duplicates: 0, malformed: 0 };
  private readonly ledger = new DeliveryLedger();
  /** Resent messages whose peers are being asked: a second copy meanwhile waits for that answer. */
  private readonly asking = new Set<string>();
  private subs: Subscription[] = [];
  private readonly trace: boolean;

  constructor(private readonly opts: NatsIntakeOptions) {
    this.trace = (process.env.FLEET_TRACE ?? '').split(/[\s,]+/).includes('nats');
  }

  /** On a new connection (the client itself restores them after a reconnect). */
  attach(nc: NatsConnection): void {
    for (const s of this.subs) s.unsubscribe();
    const { subjects } = this.opts;
    const log = this.opts.log;
    const take = guarded(log, 'intake', (msg) => this.onMessage(nc, msg));
    this.subs = [
      nc.subscribe(subjects.all('logs'), { queue: NATS_QUEUE, callback: take }),
      nc.subscribe(subjects.all('events'), { queue: NATS_QUEUE, callback: take }),
      nc.subscribe(subjects.all('metrics'), { queue: NATS_QUEUE, callback: take }),
      // Peers' questions: every controller answers (no queue).
      nc.subscribe(subjects.taken, { callback: guarded(log, 'ctl.taken', (msg) => this.answerTaken(msg)) }),
      nc.subscribe(subjects.recent, { callback: guarded(log, 'ctl.recent', (msg) => this.answerRecent(nc, msg)) }),
      nc.subscribe(subjects.online, { callback: guarded(log, 'ctl.online', () => this.opts.onPeerOnline?.()) }),
    ];
    this.announce(nc);
  }

  /** Tells the agents a controller takes messages (again): they send what waits for an answer now. */
  announce(nc: NatsConnection): void {
    try {
      nc.publish(this.opts.subjects.online);
    } catch {
      // closed meanwhile: the next connection announces
    }
  }

  detach(): void {
    for (const s of this.subs) s.unsubscribe();
    this.subs = [];
  }

  private onMessage(nc: NatsConnection, msg: Msg): void {
    const at = this.opts.subjects.parse(msg.subject);
    if (!at) return;
    if (at.kind === 'metrics') {
      this.process(at, msg);
      return;
    }
    const stamp = stampOf(msg);
    if (!stamp) {
      // Not from a Fleet agent (no numbering): taken as it comes.
      this.process(at, msg);
      this.ack(msg);
      return;
    }
    const key = `${stamp.agent}\0${stamp.seq}`;
    if (this.ledger.has(stamp.agent, stamp.seq) || this.asking.has(key)) {
      this.ledger.raise(stamp.agent, stamp.floor);
      this.stats.duplicates++;
      if (!this.asking.has(key)) this.ack(msg);
      return;
    }
    if (!stamp.resend) {
      this.takeStamped(at, msg, stamp);
      return;
    }
    // Sent again: the first copy may have reached a peer whose acknowledgement got lost.
    this.asking.add(key);
    const question = new TextEncoder().encode(JSON.stringify({ agent: stamp.agent, seq: stamp.seq }));
    void askPeers(nc, this.opts.subjects.taken, question, this.opts.peerJitterMs ?? 100).then((answers) => {
      this.asking.delete(key);
      if (answers.some((a) => a.string() === '1') || this.ledger.has(stamp.agent, stamp.seq)) {
        this.ledger.add(stamp.agent, stamp.seq, stamp.floor);
        this.stats.duplicates++;
        if (this.trace) this.opts.log(`nats: skipped ${msg.subject} #${stamp.seq} of agent ${stamp.agent}: taken already`);
        this.ack(msg);
        return;
      }
      this.takeStamped(at, msg, stamp);
    }).catch((err: Error) => {
      this.asking.delete(key);
      this.opts.log(`nats: ${msg.subject} #${stamp.seq}: ${err.message}`);
    });
  }

  private takeStamped(at: ParsedSubject, msg: Msg, stamp: Stamp): void {
    this.ledger.add(stamp.agent, stamp.seq, stamp.floor);
    this.process(at, msg, stamp);
    this.ack(msg);
  }

  private process(at: ParsedSubject, msg: Msg, stamp?: Stamp): void {
    const what = stamp ? `${msg.subject} #${stamp.seq} of agent ${stamp.agent}${stamp.resend ? ' (resent)' : ''}` : msg.subject;
    try {
      if (at.kind === 'logs') {
        const { batch, lines } = this.opts.decoder.decode(at, msg, stamp);
        this.opts.hub.keep(lines);
        this.stats.logBatches++;
        this.stats.logLines += batch.lines.length;
        this.stats.droppedLines += batch.dropped;
        if (this.trace) this.opts.log(`nats: took ${what}: ${batch.lines.length} lines${batch.dropped ? `, ${batch.dropped} dropped` : ''}`);
      } else if (at.kind === 'events') {
        const event = AgentMessage.decode(msg.data);
        this.stats.events++;
        if (this.trace) this.opts.log(`nats: took ${what}: ${event.snapshot ? `snapshot of ${event.snapshot.apps.length} apps` : `${event.delta?.changed.length ?? 0} changed, ${event.delta?.removed.length ?? 0} removed`}`);
        this.opts.onEvent?.(at.host, event);
      } else {
        const sample = AgentMessage.decode(msg.data);
        this.stats.metrics++;
        this.opts.onMetrics?.(at.host, sample);
      }
    } catch (err) {
      this.stats.malformed++;
      if (this.stats.malformed === 1 || this.trace) this.opts.log(`nats: cannot read ${what}: ${(err as Error).message} (not from a fleet agent?)`);
    }
  }

  private ack(msg: Msg): void {
    if (!msg.reply) return;
    const h = headers();
    h.set(NATS_HEADERS.ack, msg.headers?.get(NATS_HEADERS.seq) || '1');
    try {
      msg.respond(Empty, { headers: h });
    } catch {
      // The connection closed under us: unanswered, the agent sends it again and the ledger skips it.
    }
  }

  private answerTaken(msg: Msg): void {
    try {
      const q = JSON.parse(msg.string()) as { agent: string; seq: number };
      msg.respond(this.ledger.has(String(q.agent), Number(q.seq)) ? '1' : '0');
    } catch {
      // not a question this controller understands
    }
  }

  private answerRecent(nc: NatsConnection, msg: Msg): void {
    let q: RecentQuery;
    try {
      q = JSON.parse(msg.string()) as RecentQuery;
    } catch {
      return;
    }
    const filter: LogFilter = {
      hosts: q.hosts && new Set(q.hosts),
      apps: q.apps && new Set(q.apps),
      stream: q.stream ?? LogStream.LOG_STREAM_UNSPECIFIED,
      grep: q.grep || undefined,
    };
    let lines = this.opts.hub.recent(filter, Math.max(0, Math.min(Number(q.n) || 0, 100_000)));
    // One answer is one NATS message: the newest lines that fit.
    const limit = (nc.info?.max_payload ?? 1024 * 1024) - 4096;
    const encode = (): Uint8Array => new TextEncoder().encode(JSON.stringify(encodeRecent(lines, this.opts.stamps)));
    let data = encode();
    while (data.length > limit && lines.length > 0) {
      lines = lines.slice(Math.ceil(lines.length / 2));
      data = encode();
    }
    msg.respond(data);
  }
}
