// Following a log file the runner (another process) writes and rotates by
// rename: `fleet logs --follow` and log shipping. Every complete line is
// delivered once, in order, across rotations, truncation and a file that
// does not exist yet.
//
// How: we hold an fd on "our" file. When the path names another inode, the
// writer has renamed ours away after its last write, so reading our fd to
// its end gets the complete rest. If several rotations happened between two
// checks, the generations between ours and the new current file are pinned
// (opened) and replayed first. The writer may be mid-rotation while we look,
// so the picture is checked for consistency and retried shortly when off.
//
// Reads are synchronous and bounded per turn: each decision (which inode,
// which offset) is taken in one uninterrupted step of this process. Deltas
// are small; catching up on a big file yields every MAX_READ_PER_TURN bytes.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { lastLinesOfFd, prependRotated } from './last-lines';
import { EMPTY, openQuiet, pinGeneration, readFd, readPinned, statQuiet, stillAt, type Pinned } from './rotated-generations';

export interface FollowOptions {
  /** Fallback poll (ms) for what fs.watch misses. @default 250 */
  pollMs?: number;
  /** Start at the current end (true) or deliver the whole current file first. @default true */
  fromEnd?: boolean;
  /**
   * With fromEnd: first deliver the last `backlog` lines before the starting
   * point (as readLastLines would), then follow. Unlike readLastLines followed
   * by followFile, no line written in between is lost or repeated.
   * @default 0
   */
  backlog?: number;
  /**
   * Resume where an earlier reader stopped: when the file still has this
   * inode, start at `pos` (0 when it was truncated below it) instead of its end.
   */
  startAt?: FilePosition;
}

/** Where a delivered line ends: its file's inode and the byte after its newline. */
export interface FilePosition {
  ino: number;
  pos: number;
}

export interface FollowHandle {
  close(): void;
}

/**
 * Calls `onLines` with every complete line appended to `file`, in order,
 * exactly once, across rotation by rename (gzipped or not) and truncation;
 * waits for a file that does not exist yet. An unterminated last line is
 * delivered once its file is rotated away.
 */
export function followFile(
  file: string,
  onLines: (lines: string[], at?: FilePosition) => void,
  opts: FollowOptions = {},
): FollowHandle {
  const follower = new FileFollower(file, onLines, opts);
  return { close: () => follower.close() };
}

const MAX_READ_PER_TURN = 4 * 1024 * 1024;
const READ_BUFFER = 256 * 1024;
// Enough of a file's end to recognise it after gzip (with its size).
const TAIL_BYTES = 256;
// While a rotation looks half-done, look again this often, this many times.
const SWITCH_RETRY_MS = 5;
const MAX_SWITCH_ATTEMPTS = 40;
const NL = 0x0a;

class FileFollower {
  private readonly dir: string;
  private readonly base: string;
  // "Ours": the file read up to `pos`. With fd -1 (waiting for the path to
  // exist) it is the newest rotated file that existed at the start, already
  // "read" (ino -1: none; everything that appears is new).
  private fd = -1;
  private ino = -1;
  private pos = 0;
  // Its last bytes: with `pos`, how we recognise it once gzipped.
  private tail: Buffer = EMPTY;
  // An unterminated line waiting for the rest.
  private partial: Buffer | null = null;
  private readonly buf = Buffer.allocUnsafe(READ_BUFFER);
  private watcher: fs.FSWatcher | null = null;
  private watchTarget: string | null = null;
  private readonly timer: NodeJS.Timeout;
  private scheduled: NodeJS.Immediate | null = null;
  private retryTimer: NodeJS.Timeout | null = null;
  private switchAttempts = 0;
  private started = false;
  private readingBacklog = false;
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly onLines: (lines: string[], at?: FilePosition) => void,
    opts: FollowOptions,
  ) {
    this.dir = path.dirname(file);
    this.base = path.basename(file);
    const fromEnd = opts.fromEnd ?? true;
    this.fd = openQuiet(file);
    if (this.fd >= 0) {
      this.ino = fs.fstatSync(this.fd).ino;
      const size = fs.fstatSync(this.fd).size;
      const resume = opts.startAt?.ino === this.ino ? opts.startAt.pos : undefined;
      if (resume !== undefined) this.skipTo(resume <= size ? resume : 0, this.fd);
      else if (fromEnd) this.skipTo(size, this.fd);
    } else {
      const newest = pinGeneration(file, 1);
      if (newest) {
        this.ino = newest.ino;
        // A gzipped boundary is known by its inode alone.
        if (newest.gz) this.pos = -1;
        else this.skipTo(fs.fstatSync(newest.fd).size, newest.fd);
        fs.closeSync(newest.fd);
      }
    }
    this.timer = setInterval(() => this.schedule(), opts.pollMs ?? 250);
    const backlog = fromEnd ? (opts.backlog ?? 0) : 0;
    if (backlog > 0) void this.deliverBacklog(backlog);
    else this.start();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (this.scheduled) clearImmediate(this.scheduled);
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.watcher?.close();
    this.watcher = null;
    // A backlog read in flight still uses the fd; it closes it when done.
    if (!this.readingBacklog) this.closeFd();
  }

  private skipTo(size: number, fd: number): void {
    this.pos = size;
    const n = Math.min(size, TAIL_BYTES);
    const tail = Buffer.alloc(n);
    fs.readSync(fd, tail, 0, n, size - n);
    this.tail = tail;
  }

  private closeFd(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  // Reads before `pos` through our own fd (positional reads move nothing):
  // whatever is written meanwhile lies after it and is followed.
  private async deliverBacklog(n: number): Promise<void> {
    this.readingBacklog = true;
    let lines: string[] = [];
    try {
      lines = this.fd >= 0 ? await lastLinesOfFd(this.fd, this.pos, n) : [];
      lines = await prependRotated(this.file, lines, n, this.fd >= 0 ? this.ino : -1);
    } catch {
      // A backlog is a courtesy; following is what must not fail.
    } finally {
      this.readingBacklog = false;
    }
    if (this.closed) {
      this.closeFd();
      return;
    }
    if (lines.length > 0) this.onLines(lines);
    this.start();
  }

  private start(): void {
    if (this.closed) return;
    this.started = true;
    this.updateWatch();
    this.schedule();
  }

  private schedule(): void {
    if (!this.started || this.closed || this.scheduled) return;
    this.scheduled = setImmediate(() => {
      this.scheduled = null;
      this.check();
    });
  }

  private check(): void {
    if (this.closed) return;
    if (this.fd >= 0 && !this.readAvailable(MAX_READ_PER_TURN)) {
      this.schedule();
      return;
    }
    const st = statQuiet(this.file);
    if (!st) {
      // Renamed away and not yet recreated, or deleted: the fd we hold still
      // gets every line written before the writer let go of it.
      this.updateWatch();
      return;
    }
    if (this.fd < 0 || st.ino !== this.ino) {
      this.switchToNewFile();
    } else if (st.size < this.pos) {
      // Truncated (`fleet flush`, copytruncate): start over at the top.
      this.pos = 0;
      this.partial = null;
    }
    if (this.fd >= 0 && !this.readAvailable(MAX_READ_PER_TURN)) this.schedule();
    this.updateWatch();
  }

  private switchToNewFile(): void {
    if (this.fd >= 0) this.readAvailable(Infinity);
    let plan = this.planSwitch();
    if (!plan) {
      // The writer is mid-rotation, or compressing under us: look again shortly.
      if (++this.switchAttempts < MAX_SWITCH_ATTEMPTS) {
        this.retryTimer ??= setTimeout(() => {
          this.retryTimer = null;
          this.schedule();
        }, SWITCH_RETRY_MS);
        return;
      }
      // Ours was pruned or flushed: files between cannot be ordered; move on.
      const current = openQuiet(this.file);
      if (current < 0) return;
      plan = { current, missed: [] };
    }
    this.switchAttempts = 0;
    this.emitPartial();
    for (const m of plan.missed) {
      this.emit(readPinned(m));
      this.emitPartial();
    }
    this.closeFd();
    this.fd = plan.current;
    this.ino = fs.fstatSync(plan.current).ino;
    this.pos = 0;
    this.tail = EMPTY;
    this.partial = null;
  }

  /**
   * Pins the current file and every rotated generation newer than ours,
   * oldest first, then checks nothing moved while it looked: the path still
   * names the same file and each generation is where it was seen (or was
   * gzipped in place). Null when the picture is inconsistent or ours is
   * nowhere to be found.
   */
  private planSwitch(): { current: number; missed: Pinned[] } | null {
    const current = openQuiet(this.file);
    if (current < 0) return null;
    const currentIno = fs.fstatSync(current).ino;
    const pinned: Pinned[] = [];
    const fail = (): null => {
      fs.closeSync(current);
      for (const p of pinned) fs.closeSync(p.fd);
      return null;
    };
    const seen = new Set([currentIno, this.ino]);
    for (let g = 1; ; g++) {
      const p = pinGeneration(this.file, g);
      if (!p) {
        // A gap with files beyond it: the writer is shifting generations right now.
        const pastGap = pinGeneration(this.file, g + 1);
        if (pastGap) {
          fs.closeSync(pastGap.fd);
          return fail();
        }
        // The end, without ours: fine when nothing was known before (everything
        // is new) or ours was deleted outright (retain 0); otherwise look again.
        if (this.ino < 0 || (g === 1 && this.fd >= 0 && fs.fstatSync(this.fd).nlink === 0)) break;
        return fail();
      }
      if (p.ino === this.ino || (p.gz && this.isCompressedCopyOfOurs(p.fd))) {
        fs.closeSync(p.fd);
        break;
      }
      pinned.push(p);
      if (seen.has(p.ino)) return fail();
      seen.add(p.ino);
    }
    if (statQuiet(this.file)?.ino !== currentIno) return fail();
    for (const [i, p] of pinned.entries()) if (!stillAt(this.file, i + 1, p)) return fail();
    return { current, missed: pinned.reverse() };
  }

  private isCompressedCopyOfOurs(fd: number): boolean {
    if (this.pos < 0) return false;
    try {
      const size = fs.fstatSync(fd).size;
      if (size < 18) return false;
      // The gzip trailer ends with the uncompressed size mod 2^32: rules out most at once.
      const isize = Buffer.alloc(4);
      fs.readSync(fd, isize, 0, 4, size - 4);
      if (isize.readUInt32LE(0) !== this.pos % 2 ** 32) return false;
      const data = zlib.gunzipSync(readFd(fd));
      return data.length === this.pos && data.subarray(data.length - this.tail.length).equals(this.tail);
    } catch {
      return false;
    }
  }

  /** Reads from `pos` up to `budget` bytes; true when it reached the end of the file. */
  private readAvailable(budget: number): boolean {
    let read = 0;
    while (read < budget && !this.closed) {
      const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
      if (n === 0) return true;
      this.pos += n;
      read += n;
      const data = this.buf.subarray(0, n);
      this.tail = Buffer.from(
        n >= TAIL_BYTES ? data.subarray(n - TAIL_BYTES) : Buffer.concat([this.tail, data]).subarray(-TAIL_BYTES),
      );
      this.emit(data);
    }
    return this.closed;
  }

  private emit(data: Buffer): void {
    if (data.length === 0 || this.closed) return;
    const last = data.lastIndexOf(NL);
    if (last === -1) {
      this.partial = this.partial ? Buffer.concat([this.partial, data]) : Buffer.from(data);
      return;
    }
    const head = this.partial ? Buffer.concat([this.partial, data.subarray(0, last)]) : data.subarray(0, last);
    // Copy the tail: `data` may be our reused read buffer.
    this.partial = last + 1 < data.length ? Buffer.from(data.subarray(last + 1)) : null;
    this.onLines(head.toString('utf8').split('\n'), { ino: this.ino, pos: this.pos - (this.partial?.length ?? 0) });
  }

  // An unterminated last line of a finished file is still a line.
  private emitPartial(): void {
    if (!this.partial || this.closed) return;
    const line = this.partial.toString('utf8');
    this.partial = null;
    this.onLines([line]);
  }

  // Watch the file we read while the path names it (only its own events: a
  // folder watch would wake every follower for every app's writes); otherwise
  // the folder, to see the file (re)appear. fs.watch sticks to an inode, so a
  // new file needs a new watch.
  private updateWatch(): void {
    const onFile = this.fd >= 0 && statQuiet(this.file)?.ino === this.ino;
    const target = onFile ? `${this.file}#${this.ino}` : this.dir;
    if (this.closed || (this.watcher && this.watchTarget === target)) return;
    this.watcher?.close();
    this.watcher = null;
    this.watchTarget = null;
    try {
      const w = fs.watch(onFile ? this.file : this.dir, (_event, name) => {
        if (!onFile && name && name !== this.base) return;
        this.schedule();
      });
      w.on('error', () => {
        w.close();
        if (this.watcher === w) {
          this.watcher = null;
          this.watchTarget = null;
        }
      });
      this.watcher = w;
      this.watchTarget = target;
    } catch {
      // Folder missing or out of inotify watches: the poll still covers it.
    }
  }
}
