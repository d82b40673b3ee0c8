// A reader's view of a log file's rotated generations (`x.log.1`, `x.log.1.gz`
// …) while the runner keeps renaming and compressing them: open a generation
// to pin it (a rename or unlink no longer moves what we read), then check it
// is still where we saw it.
import * as fs from 'node:fs';
import * as zlib from 'node:zlib';
import { isNotFound, rotatedPath } from './log-paths';

const READ_CHUNK = 256 * 1024;
export const EMPTY = Buffer.alloc(0);

// A rotated generation held open, so renames and compression cannot move it away.
export interface Pinned {
  fd: number;
  ino: number;
  gz: boolean;
}

export function pinGeneration(file: string, g: number): Pinned | null {
  for (const gz of [false, true]) {
    const fd = openQuiet(rotatedPath(file, g, gz));
    if (fd >= 0) return { fd, ino: fs.fstatSync(fd).ino, gz };
  }
  return null;
}

/** Generation `g` is still the pinned file, or the gzip that replaced it in place. */
export function stillAt(file: string, g: number, p: Pinned): boolean {
  const plain = statQuiet(rotatedPath(file, g, false));
  if (!p.gz) return plain ? plain.ino === p.ino : statQuiet(rotatedPath(file, g, true)) !== undefined;
  return !plain && statQuiet(rotatedPath(file, g, true))?.ino === p.ino;
}

/** A pinned generation's content (gunzipped), closing it; empty if corrupt. */
export function readPinned(p: Pinned): Buffer {
  try {
    const raw = readFd(p.fd);
    return p.gz ? zlib.gunzipSync(raw) : raw;
  } catch {
    return EMPTY;
  } finally {
    fs.closeSync(p.fd);
  }
}

export function readFd(fd: number): Buffer {
  const chunks: Buffer[] = [];
  for (let pos = 0; ; ) {
    const chunk = Buffer.allocUnsafe(READ_CHUNK);
    const n = fs.readSync(fd, chunk, 0, chunk.length, pos);
    if (n === 0) break;
    chunks.push(chunk.subarray(0, n));
    pos += n;
  }
  return Buffer.concat(chunks);
}

/** An fd for reading, or -1 when the file does not exist. */
export function openQuiet(file: string): number {
  try {
    return fs.openSync(file, 'r');
  } catch (err) {
    if (isNotFound(err)) return -1;
    throw err;
  }
}

export function statQuiet(file: string): fs.Stats | undefined {
  return fs.statSync(file, { throwIfNoEntry: false });
}
