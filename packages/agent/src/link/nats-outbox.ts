// The agent's messages on their way through NATS until a controller says it
// has them: numbered from 1 per agent process, kept until acknowledged, sent
// again after a reconnect or when no answer came in time, later when no
// controller listened at all. Confirmed in number order, so a restarted agent
// resumes its log files after the last line it knows a controller has, even
// when two controllers answer out of order. Pure: the clock is an argument.
import type { LogLine } from '@fleet/protocol';

export interface Outgoing {
  subject: string;
  data: Uint8Array;
  /** The log lines inside (none for an event): counted against the bound, confirmed on the ack. */
  lines: LogLine[];
  /** How much of the in-flight bound it takes: its lines, or 1. */
  weight: number;
}

export interface InFlight extends Outgoing {
  seq: number;
  sentMs: number;
  /** Sent before: the controller that gets it checks with its peers. */
  resend: boolean;
  /** No controller listened: not before then. */
  retryMs?: number;
}

export class NatsOutbox {
  private nextSeq = 1;
  /** In number order (a Map keeps insertion order). */
  private readonly inFlight = new Map<number, InFlight>();
  /** Acknowledged, waiting for an older one before they count as confirmed. */
  private readonly acked = new Map<number, InFlight>();
  private inFlightWeight = 0;

  /** Numbers and records a message; the caller publishes it. */
  add(item: Outgoing, nowMs: number): InFlight {
    const f: InFlight = { ...item, seq: this.nextSeq++, sentMs: nowMs, resend: false };
    this.inFlight.set(f.seq, f);
    this.inFlightWeight += f.weight;
    return f;
  }

  /** Every number below this one is acknowledged (travels with each message: controllers forget below it). */
  get floor(): number {
    for (const seq of this.inFlight.keys()) return seq;
    return this.nextSeq;
  }

  get weight(): number {
    return this.inFlightWeight;
  }

  get size(): number {
    return this.inFlight.size;
  }

  /** A controller has it. Returns the messages now confirmed, in order (all below the floor). */
  ack(seq: number): InFlight[] {
    const f = this.inFlight.get(seq);
    if (!f) return [];
    this.inFlight.delete(seq);
    this.inFlightWeight -= f.weight;
    this.acked.set(seq, f);
    const floor = this.floor;
    const confirmed: InFlight[] = [];
    for (const [s, a] of this.acked) {
      if (s >= floor) continue;
      confirmed.push(a);
      this.acked.delete(s);
    }
    return confirmed.sort((a, b) => a.seq - b.seq);
  }

  /** No controller listened: try again after `delayMs`. */
  retryLater(seq: number, nowMs: number, delayMs: number): void {
    const f = this.inFlight.get(seq);
    if (f) f.retryMs = nowMs + delayMs;
  }

  /** Everything in flight, to send again after a reconnect. */
  all(): InFlight[] {
    return [...this.inFlight.values()];
  }

  /** Unanswered past the timeout, or due for another try. */
  due(nowMs: number, ackTimeoutMs: number): InFlight[] {
    const out: InFlight[] = [];
    for (const f of this.inFlight.values()) {
      if (f.retryMs !== undefined ? f.retryMs <= nowMs : nowMs - f.sentMs >= ackTimeoutMs) out.push(f);
    }
    return out;
  }

  /** About to be published again. */
  resent(f: InFlight, nowMs: number): void {
    f.resend = true;
    f.sentMs = nowMs;
    f.retryMs = undefined;
  }
}
