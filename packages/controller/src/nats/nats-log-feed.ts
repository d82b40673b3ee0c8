// `fleet logs` over the NATS data plane. The queue group splits the lines
// between the controllers (nats-intake.ts), so no one controller's windows
// hold them all: a follower here subscribes to the log subjects directly
// (plain subscriptions, filtered by host and app, outside the queue group) and
// so sees every line whichever controller took it; a backlog is this
// controller's windows merged with its peers' (asked on ctl.recent). When NATS
// was away, or a peer comes back, each follower fills its gap from the windows:
// the agent messages since it began that it has not shown (shown-batches.ts). Lines of agents
// linked without NATS still come through the hub as before.
import { type LogLine, type NatsSubjects } from '@fleet/protocol';
import { guarded } from '@fleet/protocol/nats';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { type LogFeed, type LogFilter, type LogHub, matchesLog, mergeByTime } from '../log-hub';
import type { BatchDecoder } from './batch-decoder';
import { askPeers, type BatchStamp, decodeRecent, type LineStamps, type RecentAnswer, recentQuery, stampOf } from './nats-intake';
import { ShownBatches } from './shown-batches';

/** Above this many host × app subjects a follower takes every log subject and filters here. */
const MAX_FOLLOW_SUBJECTS = 64;
/** Lines per window asked to fill a gap (the windows' default size). */
const WINDOW_ASK = 1000;

/** Lines of one agent message (no stamp: a line from an agent link, not NATS). */
interface Piece {
  stamp?: BatchStamp;
  lines: LogLine[];
}

interface Follow {
  filter: LogFilter;
  onLine: (line: LogLine) => void;
  /** Set while windows are asked: live messages wait here. */
  waiting?: Piece[];
  subs: Subscription[];
  shown: ShownBatches;
  startedMs: number;
}

export interface NatsLogFeedOptions {
  now?: () => number;
  log?: (msg: string) => void;
  /** How long to wait for the peers' windows after the last one came. @default 100 */
  peerJitterMs?: number;
}

/** Several controllers' windows as one: the last `n` lines of each host/app, merged by time. Pure. */
export function lastPerWindow(parts: LogLine[][], n: number): LogLine[] {
  if (parts.length <= 1) return parts[0] ?? [];
  const byWindow = new Map<string, LogLine[]>();
  for (const part of parts) {
    for (const line of part) {
      const key = `${line.host}\0${line.app}`;
      const w = byWindow.get(key);
      if (w) w.push(line);
      else byWindow.set(key, [line]);
    }
  }
  return mergeByTime([...byWindow.values()].flatMap((w) => mergeByTime(w).slice(-n)));
}

export class NatsLogFeed implements LogFeed {
  readonly clusterWide = true;
  private nc?: NatsConnection;
  private readonly follows = new Set<Follow>();
  private readonly now: () => number;

  constructor(
    private readonly hub: LogHub,
    private readonly subjects: NatsSubjects,
    private readonly stamps: LineStamps,
    private readonly decoder: BatchDecoder,
    private readonly opts: NatsLogFeedOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** A new connection: followers subscribe on it (after a reconnect the client restores them itself: resync()). */
  attach(nc: NatsConnection): void {
    this.nc = nc;
    for (const f of this.follows) this.subscribe(f, nc);
    this.resync();
  }

  detach(): void {
    for (const f of this.follows) for (const s of f.subs) s.unsubscribe();
    this.nc = undefined;
  }

  async tail(filter: LogFilter, n: number): Promise<LogLine[]> {
    const own = this.hub.recent(filter, n);
    if (n <= 0 || !this.nc) return own;
    return lastPerWindow([own, ...(await this.peersRecent(this.nc, filter, n))], n);
  }

  async follow(filter: LogFilter, n: number, onLine: (line: LogLine) => void): Promise<() => void> {
    const f: Follow = { filter, onLine, subs: [], shown: new ShownBatches(), startedMs: this.now(), waiting: [] };
    this.follows.add(f);
    // Lines of agents linked over gRPC (without NATS) come through the hub, as without NATS; their backlog
    // is taken now, in the same step as the subscription.
    const stopHub = this.hub.subscribe(filter, (line) => this.deliver(f, { lines: [line] }));
    const fromLinks = n > 0 ? this.hub.recent(filter, n).filter((l) => !this.stamps.has(l)) : [];
    const stop = (): void => {
      stopHub();
      for (const s of f.subs) s.unsubscribe();
      this.follows.delete(f);
    };
    try {
      const nc = this.nc;
      if (nc) this.subscribe(f, nc);
      await this.join(f, nc, n, (windows) => lastPerWindow([fromLinks, ...windows], n));
    } catch (err) {
      stop();
      throw err;
    }
    return stop;
  }

  /**
   * NATS was away, or a peer came back: lines the queue group took while this
   * controller's subscriptions were missing reached no follower here. Each gets
   * the agent messages it has not shown from the windows, before live lines go on.
   */
  resync(): void {
    const nc = this.nc;
    if (!nc) return;
    for (const f of this.follows) {
      // Messages not shown, since the follow began (by the agents' clocks, give or take): the gap.
      const gap = (windows: LogLine[][]): LogLine[] => mergeByTime(windows.flat()).filter((l) => this.stamps.has(l) && l.timeMs >= f.startedMs);
      void this.join(f, nc, WINDOW_ASK, gap).catch(() => undefined);
    }
  }

  /**
   * Windows then live, as one step: live messages wait while the windows are
   * asked (the subscriptions are on the server first, so nothing falls between);
   * then `pick`'s lines are shown, then the waiting messages not shown yet.
   */
  private async join(f: Follow, nc: NatsConnection | undefined, n: number, pick: (windows: LogLine[][]) => LogLine[]): Promise<void> {
    f.waiting ??= [];
    try {
      if (nc) await nc.flush();
      const windows = n > 0 ? [this.hub.recent(f.filter, n).filter((l) => this.stamps.has(l)), ...(nc ? await this.peersRecent(nc, f.filter, n) : [])] : [];
      this.showLines(f, pick(windows));
    } finally {
      const live = f.waiting ?? [];
      f.waiting = undefined;
      for (const piece of live) this.showPiece(f, piece);
    }
  }

  private deliver(f: Follow, piece: Piece): void {
    if (f.waiting) f.waiting.push(piece);
    else this.showPiece(f, piece);
  }

  /** One agent message's lines, unless this follower has shown that message (a resend, or one met in a window). */
  private showPiece(f: Follow, piece: Piece): void {
    if (piece.stamp) {
      if (f.shown.has(piece.stamp.agent, piece.stamp.seq)) return;
      f.shown.mark(piece.stamp.agent, piece.stamp.seq);
    }
    for (const line of piece.lines) f.onLine(line);
  }

  /** Window lines in their order; a message is taken or left whole (its lines may be spread among others'). */
  private showLines(f: Follow, lines: LogLine[]): void {
    const taken = new Set<string>();
    const left = new Set<string>();
    for (const line of lines) {
      const stamp = this.stamps.get(line);
      if (!stamp) {
        f.onLine(line);
        continue;
      }
      const key = `${stamp.agent}#${stamp.seq}`;
      if (left.has(key)) continue;
      if (!taken.has(key)) {
        if (f.shown.has(stamp.agent, stamp.seq)) {
          left.add(key);
          continue;
        }
        f.shown.mark(stamp.agent, stamp.seq);
        taken.add(key);
      }
      f.onLine(line);
    }
  }

  private subscribe(f: Follow, nc: NatsConnection): void {
    for (const s of f.subs) s.unsubscribe();
    const { hosts, apps } = f.filter;
    const count = (hosts?.size ?? 1) * (apps?.size ?? 1);
    const subjects = count > MAX_FOLLOW_SUBJECTS ? [this.subjects.all('logs')] : this.subjects.logFollow(hosts, apps);
    const callback = guarded(this.opts.log ?? (() => undefined), 'follower', (msg) => this.onMessage(f, msg));
    f.subs = subjects.map((subject) => nc.subscribe(subject, { callback }));
  }

  private onMessage(f: Follow, msg: Msg): void {
    const at = this.subjects.parse(msg.subject);
    if (!at || at.kind !== 'logs') return;
    const stamp = stampOf(msg);
    if (stamp && f.shown.has(stamp.agent, stamp.seq)) return;
    let lines: LogLine[];
    try {
      lines = this.decoder.decode(at, msg, stamp).lines;
    } catch {
      return; // counted by the intake, which sees the same message
    }
    const piece: Piece = { stamp: stamp && { agent: stamp.agent, seq: stamp.seq }, lines: [] };
    for (const line of lines) if (matchesLog(f.filter, line)) piece.lines.push(line);
    if (piece.lines.length > 0) this.deliver(f, piece);
  }

  private async peersRecent(nc: NatsConnection, filter: LogFilter, n: number): Promise<LogLine[][]> {
    const question = new TextEncoder().encode(JSON.stringify(recentQuery(filter, n)));
    const answers = await askPeers(nc, this.subjects.recent, question, this.opts.peerJitterMs ?? 100);
    const out: LogLine[][] = [];
    for (const a of answers) {
      try {
        out.push(decodeRecent(JSON.parse(a.string()) as RecentAnswer, this.stamps));
      } catch {
        // a peer of another version: its window is left out
      }
    }
    return out;
  }
}
