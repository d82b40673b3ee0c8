// One log file the runner appends to, rotated by rename when it grows past a
// size. Invariants:
//  - every line handed to write() lands in exactly one file, in order, whole:
//    rotation happens only between two write() calls, after the buffered data
//    went to the old file, and renames never overwrite a file still needed;
//  - an I/O failure never throws out of write()/flush(): the runner keeps its
//    apps running with broken logs rather than dying. Failures are counted and
//    the file is reopened (folder recreated) on the next flush.
// Writes are buffered for one event-loop tick and written with one writeSync:
// a chatty app sends many lines per pipe chunk, and one syscall per tick is
// several times cheaper than one per line (see the throughput test).
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pipeline } from 'node:stream/promises';
import * as zlib from 'node:zlib';
import { isNotFound, rotatedPath } from './log-paths';

export interface RotatingLogFileOptions {
  /** Rotate before a write would take the file past this size; 0: never. */
  maxSizeBytes: number;
  /** Rotated files kept (`x.log.1` … `x.log.<retain>`); 0 keeps none. */
  retain: number;
  /** gzip rotated files (`x.log.1.gz`), off the event loop. */
  compress: boolean;
  /**
   * How often (ms) flush() checks that the path still names the open file, so a
   * deleted folder, an outside `mv` or a truncation (`fleet flush`) is noticed.
   * @default 1000
   */
  checkIntervalMs?: number;
  /** Told about every I/O failure, after it is counted. */
  onError?: (err: Error) => void;
}

export interface LogFileStats {
  bytesWritten: number;
  rotations: number;
  /** Failed opens, writes, renames and compressions. */
  failures: number;
  /** Bytes given to write() that never reached a file. */
  droppedBytes: number;
  lastError: Error | null;
}

// A rotated file waiting for gzip. `generation` follows the file as later
// rotations shift it (`.1` → `.2`), so the job always knows its current name.
interface CompressJob {
  generation: number;
}

// Above this, a tick's buffer is written at once to bound memory.
const MAX_PENDING_BYTES = 1 << 20;
let tmpSeq = 0;

export class RotatingLogFile {
  private fd = -1;
  private ino = -1;
  private size = 0;
  private pending: string[] = [];
  private pendingBytes = 0;
  private scheduled: NodeJS.Immediate | null = null;
  private lastCheck = 0;
  private closed = false;
  private readonly jobs: CompressJob[] = [];
  private compressing: Promise<void> | null = null;
  private readonly counters: LogFileStats = {
    bytesWritten: 0,
    rotations: 0,
    failures: 0,
    droppedBytes: 0,
    lastError: null,
  };
  private readonly checkIntervalMs: number;

  constructor(
    readonly path: string,
    private readonly opts: RotatingLogFileOptions,
  ) {
    this.checkIntervalMs = opts.checkIntervalMs ?? 1000;
    this.open();
  }

  /** Appends whole lines (each ending in '\n'); written on the next tick or by flush(). */
  write(data: string): void {
    if (this.closed) {
      this.counters.droppedBytes += Buffer.byteLength(data);
      return;
    }
    const bytes = Buffer.byteLength(data);
    const max = this.opts.maxSizeBytes;
    const used = this.size + this.pendingBytes;
    // A line longer than the limit still goes whole into a file of its own.
    if (max > 0 && used > 0 && used + bytes > max) {
      this.flush();
      // The flush may have found the file truncated (`fleet flush`): no rotation then.
      if (this.size > 0 && this.size + bytes > max) this.rotate();
    }
    this.pending.push(data);
    this.pendingBytes += bytes;
    if (this.pendingBytes >= MAX_PENDING_BYTES) this.flush();
    else this.scheduled ??= setImmediate(() => this.flush());
  }

  /** Writes everything buffered now. */
  flush(): void {
    if (this.scheduled) {
      clearImmediate(this.scheduled);
      this.scheduled = null;
    }
    if (Date.now() - this.lastCheck >= this.checkIntervalMs) this.checkPath();
    if (this.pending.length === 0) return;
    const data = this.pending.length === 1 ? this.pending[0]! : this.pending.join('');
    const bytes = this.pendingBytes;
    this.pending = [];
    this.pendingBytes = 0;
    if (this.fd < 0 && !this.open()) {
      this.counters.droppedBytes += bytes;
      return;
    }
    const buf = Buffer.from(data);
    let off = 0;
    try {
      // writeSync may write less than asked (a nearly full disk): finish the line rather than split it.
      while (off < buf.length) off += fs.writeSync(this.fd, buf, off);
    } catch (err) {
      this.fail(err);
      this.closeFd();
    }
    this.size += off;
    this.counters.bytesWritten += off;
    this.counters.droppedBytes += buf.length - off;
  }

  /** Closes and reopens the path: after an outside rename, or to pick up a recreated file. */
  reopen(): void {
    this.flush();
    this.closeFd();
    this.open();
  }

  /** Flushes, closes the file and waits for pending compressions. Later writes are dropped. */
  async close(): Promise<void> {
    if (!this.closed) {
      this.flush();
      this.closeFd();
      this.closed = true;
    }
    while (this.compressing) await this.compressing;
  }

  stats(): Readonly<LogFileStats> {
    return { ...this.counters };
  }

  private open(): boolean {
    try {
      fs.mkdirSync(path.dirname(this.path), { recursive: true });
      this.fd = fs.openSync(this.path, 'a', 0o640);
      const st = fs.fstatSync(this.fd);
      this.size = st.size;
      this.ino = st.ino;
      this.lastCheck = Date.now();
      return true;
    } catch (err) {
      this.fail(err);
      this.closeFd();
      return false;
    }
  }

  private closeFd(): void {
    if (this.fd < 0) return;
    try {
      fs.closeSync(this.fd);
    } catch {
      // The fd is gone either way; nothing was buffered in it.
    }
    this.fd = -1;
  }

  // The path may have stopped naming our file (folder deleted, outside mv) or
  // the file may have been truncated (`fleet flush`): writes to the old inode
  // would vanish and the size would be wrong, so follow the path.
  private checkPath(): void {
    this.lastCheck = Date.now();
    if (this.fd < 0) return;
    let st: fs.Stats | undefined;
    try {
      st = fs.statSync(this.path, { throwIfNoEntry: false });
    } catch {
      // ENOTDIR, EACCES…: the open below fails and says why.
    }
    if (st && st.ino === this.ino) {
      this.size = st.size;
      return;
    }
    this.closeFd();
    this.open();
  }

  private rotate(): void {
    this.counters.rotations++;
    this.closeFd();
    const { retain, compress } = this.opts;
    try {
      if (retain <= 0) {
        unlinkQuiet(this.path);
      } else {
        // Shift only the generations present (up to the first gap): a rename
        // per kept file, not per `retain`. Oldest first, so no rename ever
        // lands on a file that is still kept.
        let top = 0;
        while (top < retain && this.generationExists(top + 1)) top++;
        if (top === retain) {
          unlinkQuiet(rotatedPath(this.path, retain, false));
          unlinkQuiet(rotatedPath(this.path, retain, true));
          for (const job of this.jobs) if (job.generation === retain) job.generation = Infinity;
          top--;
        }
        for (let g = top; g >= 1; g--) {
          renameQuiet(rotatedPath(this.path, g, false), rotatedPath(this.path, g + 1, false));
          renameQuiet(rotatedPath(this.path, g, true), rotatedPath(this.path, g + 1, true));
        }
        for (const job of this.jobs) if (job.generation <= top) job.generation++;
        fs.renameSync(this.path, rotatedPath(this.path, 1, false));
        if (compress) this.jobs.push({ generation: 1 });
      }
      // Generations past `retain` left by a run with a larger retain.
      for (let g = Math.max(retain, 0) + 1; ; g++) {
        const a = unlinkQuiet(rotatedPath(this.path, g, false));
        const b = unlinkQuiet(rotatedPath(this.path, g, true));
        if (!a && !b) break;
      }
    } catch (err) {
      // The current file stays as it is and keeps growing; the next rotation retries.
      this.fail(err);
    }
    this.open();
    this.startCompression();
  }

  private generationExists(g: number): boolean {
    return fs.existsSync(rotatedPath(this.path, g, false)) || fs.existsSync(rotatedPath(this.path, g, true));
  }

  private startCompression(): void {
    if (this.compressing || this.jobs.length === 0) return;
    const job = this.jobs[0]!;
    this.compressing = this.compress(job)
      .catch((err: unknown) => this.fail(err))
      .finally(() => {
        this.jobs.shift();
        this.compressing = null;
        this.startCompression();
      });
  }

  // gzip into a temp file, fsync, then — synchronously, so `generation` agrees
  // with the files on disk — rename it to `.N.gz` and delete the plain `.N`.
  // A reader always finds one of the two.
  private async compress(job: CompressJob): Promise<void> {
    if (job.generation > this.opts.retain) return;
    // Opened synchronously: the name is right only until the next rotation.
    const src = fs.openSync(rotatedPath(this.path, job.generation, false), 'r');
    const tmp = `${this.path}.${process.pid}-${++tmpSeq}.gz.tmp`;
    let srcIno = -1;
    let out = -1;
    try {
      srcIno = fs.fstatSync(src).ino;
      out = fs.openSync(tmp, 'w', 0o640);
      await pipeline(
        fs.createReadStream('', { fd: src, autoClose: false }),
        zlib.createGzip(),
        fs.createWriteStream('', { fd: out, autoClose: false }),
      );
      await new Promise<void>((resolve, reject) => fs.fsync(out, (err) => (err ? reject(err) : resolve())));
    } catch (err) {
      unlinkQuiet(tmp);
      throw err;
    } finally {
      fs.closeSync(src);
      if (out >= 0) fs.closeSync(out);
    }
    if (job.generation > this.opts.retain) {
      unlinkQuiet(tmp);
      return;
    }
    const plain = rotatedPath(this.path, job.generation, false);
    // Only if the name still holds our source (not after an outside flush and rewrite).
    if (fs.statSync(plain, { throwIfNoEntry: false })?.ino !== srcIno) {
      unlinkQuiet(tmp);
      return;
    }
    fs.renameSync(tmp, rotatedPath(this.path, job.generation, true));
    unlinkQuiet(plain);
  }

  private fail(err: unknown): void {
    const e = err instanceof Error ? err : new Error(String(err));
    this.counters.failures++;
    this.counters.lastError = e;
    try {
      this.opts.onError?.(e);
    } catch {
      // A failing observer must not turn a log failure into a runner crash.
    }
  }
}

function unlinkQuiet(file: string): boolean {
  try {
    fs.unlinkSync(file);
    return true;
  } catch (err) {
    if (isNotFound(err)) return false;
    throw err;
  }
}

function renameQuiet(from: string, to: string): void {
  try {
    fs.renameSync(from, to);
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}
