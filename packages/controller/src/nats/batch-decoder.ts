// A log message decoded once per controller. A controller with followers gets
// each message of their subjects twice — as a queue-group member and on the
// followers' plain subscriptions, back to back — and the second delivery takes
// the lines the first decoded (stamped with their message, see nats-intake.ts).
import { LogBatch, type LogLine, type ParsedSubject } from '@fleet/protocol';
import type { Msg } from 'nats';
import { batchLines, type LineStamps, type Stamp } from './nats-intake';

export interface DecodedBatch {
  batch: LogBatch;
  /** Host and app from the subject, a drop notice first: as windows and followers take them. */
  lines: LogLine[];
}

export class BatchDecoder {
  private readonly recent = new Map<string, DecodedBatch>();

  constructor(
    private readonly stamps: LineStamps,
    private readonly now: () => number = Date.now,
    private readonly keep = 256,
  ) {}

  /** Throws on a payload that is not a LogBatch. */
  decode(at: ParsedSubject, msg: Msg, stamp: Stamp | undefined): DecodedBatch {
    const key = stamp && `${stamp.agent}#${stamp.seq}#${msg.subject}`;
    const hit = key && this.recent.get(key);
    if (hit) return hit;
    const batch = LogBatch.decode(msg.data);
    const lines = batchLines(at, batch, this.now());
    if (!key || !stamp) return { batch, lines };
    const s = { agent: stamp.agent, seq: stamp.seq };
    for (const line of lines) this.stamps.set(line, s);
    const decoded = { batch, lines };
    this.recent.set(key, decoded);
    if (this.recent.size > this.keep) this.recent.delete(this.recent.keys().next().value!);
    return decoded;
  }
}
