// Reading log files the runner writes, from the agent: the last N lines
// (`fleet logs --lines N`) and following new lines across rotations
// (`--follow`, log shipping). Files may be GBs, so nothing reads a whole
// current file; rotated files are bounded by max_size and may be gzipped.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { isNotFound, rotatedPath } from './log-paths';

const CHUNK = 64 * 1024;
const NL = 0x0a;

/**
 * The last `n` lines of `file`, oldest first. When the current file holds
 * fewer, continues into the rotated files (`x.log.1`, `x.log.1.gz`, `.2` …),
 * newest first, until `n` lines are found or the generations end. A trailing
 * unterminated line counts as a line.
 */
export async function readLastLines(file: string, n: number): Promise<string[]> {
  if (n <= 0) return [];
  const fd = openQuiet(file);
  if (fd < 0) return prependRotated(file, [], n, -1);
  try {
    const st = fs.fstatSync(fd);
    const lines = await lastLinesOfFd(fd, st.size, n);
    return await prependRotated(file, lines, n, st.ino);
  } finally {
    fs.closeSync(fd);
  }
}

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
}

export interface FollowHandle {
  close(): void;
}

/**
 * Calls `onLines` with every complete line appended to `file`, in order,
 * exactly once, across rotation by rename and truncation, and waits for a
 * file that does not exist yet.
 */
export function followFile(file: string, onLines: (lines: string[]) => void, opts: FollowOptions = {}): FollowHandle {
  const follower = new FileFollower(file, onLines, opts);
  return { close: () => follower.close() };
}

// Synchronous reads, bounded per turn: every decision (which inode, which
// offset) is made in one uninterrupted step, so a rotation cannot slip in
// between deciding and reading. Deltas are small; catching up on a big file
// yields to the event loop every MAX_READ_PER_TURN bytes.
const MAX_READ_PER_TURN = 4 * 1024 * 1024;

class FileFollower {
  private readonly dir: string;
  private readonly base: string;
  private fd = -1;
  private ino = -1;
  private pos = 0;
  private partial: Buffer | null = null;
  private readonly buf = Buffer.allocUnsafe(CHUNK * 4);
  private watcher: fs.FSWatcher | null = null;
  private watchTarget: string | null = null;
  private readonly timer: NodeJS.Timeout;
  private scheduled: NodeJS.Immediate | null = null;
  private started = false;
  private readingBacklog = false;
  private closed = false;

  constructor(
    private readonly file: string,
    private readonly onLines: (lines: string[]) => void,
    opts: FollowOptions,
  ) {
    this.dir = path.dirname(file);
    this.base = path.basename(file);
    const fromEnd = opts.fromEnd ?? true;
    this.fd = openQuiet(file);
    let size = 0;
    if (this.fd >= 0) {
      const st = fs.fstatSync(this.fd);
      this.ino = st.ino;
      size = st.size;
      this.pos = fromEnd ? size : 0;
    }
    this.timer = setInterval(() => this.schedule(), opts.pollMs ?? 250);
    const backlog = fromEnd ? (opts.backlog ?? 0) : 0;
    if (backlog > 0) void this.deliverBacklog(size, backlog);
    else this.start();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    if (this.scheduled) clearImmediate(this.scheduled);
    this.watcher?.close();
    this.watcher = null;
    // A backlog read in flight still uses the fd; it closes it when done.
    if (!this.readingBacklog) this.closeFd();
  }

  private closeFd(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }

  // Reads before `end` through our own fd (positional reads leave `pos`
  // alone): whatever is written meanwhile lies after `end` and is followed.
  private async deliverBacklog(end: number, n: number): Promise<void> {
    this.readingBacklog = true;
    let lines: string[] = [];
    try {
      lines = this.fd >= 0 ? await lastLinesOfFd(this.fd, end, n) : [];
      lines = await prependRotated(this.file, lines, n, this.ino);
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
    this.updateWatch(this.fd >= 0);
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
      this.updateWatch(false);
      return;
    }
    if (this.fd < 0) {
      this.openCurrent();
    } else if (st.ino !== this.ino) {
      this.switchToNewFile();
    } else if (st.size < this.pos) {
      // Truncated (`fleet flush`, copytruncate): start over at the top.
      this.pos = 0;
      this.partial = null;
    }
    if (this.fd >= 0 && !this.readAvailable(MAX_READ_PER_TURN)) this.schedule();
    this.updateWatch(this.fd >= 0);
  }

  // The path names a new file. The writer renamed ours away after its last
  // write, so what our fd reads now is the complete rest of it.
  private switchToNewFile(): void {
    this.readAvailable(Infinity);
    this.emitPartial();
    const missed = this.openMissedGenerations();
    this.closeFd();
    for (const m of missed) {
      const data = typeof m === 'number' ? readAllFd(m) : readGzipSync(m);
      this.emit(data);
      this.emitPartial();
    }
    this.openCurrent();
  }

  /**
   * Files rotated after ours that we never saw as the current file (several
   * rotations between two checks): the generations newer than the one our
   * inode now has. Plain ones are opened at once to pin them; gzipped ones are
   * read right away by the caller, in this same synchronous step.
   */
  private openMissedGenerations(): Array<number | string> {
    const newer: string[] = [];
    for (let g = 1; ; g++) {
      const plain = rotatedPath(this.file, g, false);
      const st = statQuiet(plain);
      if (st && st.ino === this.ino) break;
      if (st) {
        newer.push(plain);
        continue;
      }
      const gz = rotatedPath(this.file, g, true);
      // Our own file is never gzipped before we find it plain… unless we slept
      // through its compression too; then the order is unknown: skip the lot.
      if (!fs.existsSync(gz)) return [];
      newer.push(gz);
    }
    return newer.reverse().map((p) => (p.endsWith('.gz') ? p : openQuiet(p))).filter((x) => x !== -1);
  }

  private openCurrent(): void {
    this.fd = openQuiet(this.file);
    if (this.fd < 0) return;
    this.ino = fs.fstatSync(this.fd).ino;
    this.pos = 0;
    this.partial = null;
  }

  /** Reads from `pos` up to `budget` bytes; true when it reached the end of the file. */
  private readAvailable(budget: number): boolean {
    let read = 0;
    while (read < budget && !this.closed) {
      const n = fs.readSync(this.fd, this.buf, 0, this.buf.length, this.pos);
      if (n === 0) return true;
      this.pos += n;
      read += n;
      this.emit(this.buf.subarray(0, n));
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
    this.onLines(head.toString('utf8').split('\n'));
  }

  // An unterminated last line of a finished file is still a line.
  private emitPartial(): void {
    if (!this.partial || this.closed) return;
    const line = this.partial.toString('utf8');
    this.partial = null;
    this.onLines([line]);
  }

  // Watch the file itself while we read the file the path names (cheap: only
  // its own events); otherwise the folder, to see the file (re)appear.
  private updateWatch(onFile: boolean): void {
    const target = onFile ? this.file : this.dir;
    if (this.closed || (this.watcher && this.watchTarget === target)) return;
    this.watcher?.close();
    this.watcher = null;
    this.watchTarget = null;
    try {
      const w = fs.watch(target, (_event, name) => {
        if (target === this.dir && name && name !== this.base) return;
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
      // Folder missing or out of watches: the poll still covers it.
    }
  }
}

/** The last `n` lines in bytes [0, end) of an open file, reading backwards in chunks. */
async function lastLinesOfFd(fd: number, end: number, n: number): Promise<string[]> {
  const chunks: Buffer[] = [];
  let pos = end;
  let newlines = 0;
  // The n lines plus the '\n' before them; a final '\n' adds one.
  let needed = n;
  let first = true;
  while (pos > 0 && newlines < needed) {
    const len = Math.min(CHUNK, pos);
    pos -= len;
    const chunk = Buffer.allocUnsafe(len);
    const got = await readAt(fd, chunk, pos);
    const data = chunk.subarray(0, got);
    if (first && data.length > 0 && data[data.length - 1] === NL) needed++;
    first = false;
    for (let i = data.indexOf(NL); i !== -1; i = data.indexOf(NL, i + 1)) newlines++;
    chunks.unshift(data);
  }
  return lastLinesOfBuffer(Buffer.concat(chunks), n, pos === 0);
}

/**
 * The last `n` lines of `data`. `complete`: data starts at the beginning of
 * the file; otherwise its first line is a fragment and is dropped.
 */
function lastLinesOfBuffer(data: Buffer, n: number, complete: boolean): string[] {
  const start = complete ? 0 : data.indexOf(NL) + 1;
  if ((!complete && start === 0) || start >= data.length) return [];
  const stop = data[data.length - 1] === NL ? data.length - 1 : data.length;
  const lines = data.subarray(start, stop).toString('utf8').split('\n');
  return lines.length > n ? lines.slice(lines.length - n) : lines;
}

/** Completes `lines` (newest part) with lines from rotated generations until there are `n`. */
async function prependRotated(file: string, lines: string[], n: number, currentIno: number): Promise<string[]> {
  let result = lines;
  for (let g = 1; result.length < n; g++) {
    const want = n - result.length;
    const fd = openQuiet(rotatedPath(file, g, false));
    let older: string[];
    if (fd >= 0) {
      try {
        const st = fs.fstatSync(fd);
        // Rotated while we read: the file we read as current is now `.1`; skip it.
        if (st.ino === currentIno) continue;
        older = await lastLinesOfFd(fd, st.size, want);
      } finally {
        fs.closeSync(fd);
      }
    } else {
      const data = await readGzip(rotatedPath(file, g, true));
      if (data === null) break;
      older = lastLinesOfBuffer(data, want, true);
    }
    result = older.concat(result);
  }
  return result;
}

function readAt(fd: number, buf: Buffer, position: number): Promise<number> {
  return new Promise((resolve, reject) =>
    fs.read(fd, buf, 0, buf.length, position, (err, n) => (err ? reject(err) : resolve(n))),
  );
}

async function readGzip(file: string): Promise<Buffer | null> {
  let raw: Buffer;
  try {
    raw = await fs.promises.readFile(file);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  return new Promise((resolve, reject) => zlib.gunzip(raw, (err, out) => (err ? reject(err) : resolve(out))));
}

function readGzipSync(file: string): Buffer {
  try {
    return zlib.gunzipSync(fs.readFileSync(file));
  } catch {
    // Deleted or half-written under us: nothing to recover from it.
    return Buffer.alloc(0);
  }
}

function readAllFd(fd: number): Buffer {
  try {
    const chunks: Buffer[] = [];
    for (let pos = 0; ; ) {
      const chunk = Buffer.allocUnsafe(CHUNK * 4);
      const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      pos += n;
    }
    return Buffer.concat(chunks);
  } finally {
    fs.closeSync(fd);
  }
}

function openQuiet(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (err) {
    if (isNotFound(err)) return -1;
    throw err;
  }
}

function statQuiet(file: string): fs.Stats | undefined {
  return fs.statSync(file, { throwIfNoEntry: false });
}
