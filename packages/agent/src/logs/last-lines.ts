// The last N lines of a log file (`fleet logs --lines N`), reading backwards
// in chunks: current files may be GBs and only their end is read. Rotated
// generations (bounded by max_size, maybe gzipped) complete a short file.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { isNotFound, rotatedPath } from './log-paths';
import { openQuiet } from './rotated-generations';

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

/** The last `n` lines in bytes [0, end) of an open file, reading backwards in chunks. */
export async function lastLinesOfFd(fd: number, end: number, n: number): Promise<string[]> {
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
export async function prependRotated(file: string, lines: string[], n: number, currentIno: number): Promise<string[]> {
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
