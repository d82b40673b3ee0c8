// State on disk is written atomically: a unique temp file, fsync, rename,
// fsync of the folder. A crash at any point leaves either the old file or the
// new one. Shared by the agent (state.json), the controller (state, tokens)
// and the CLI (contexts).
import * as fs from 'node:fs';
import * as path from 'node:path';

export function writeFileAtomic(file: string, data: string, mode = 0o600): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
  const fd = fs.openSync(tmp, 'wx', mode);
  try {
    try {
      // openSync's mode is masked by the umask; the mode matters here (token hashes, contexts).
      fs.fchmodSync(fd, mode);
      fs.writeSync(fd, data);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
  syncDir(dir);
}

/** Makes a rename in `dir` durable across a power cut; best effort (some filesystems refuse fsync on a directory; the rename is atomic anyway). */
export function syncDir(dir: string): void {
  try {
    const dirFd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(dirFd);
    } finally {
      fs.closeSync(dirFd);
    }
  } catch {
    // not fatal: see above
  }
}

/** The parsed file, or undefined when there is none. */
export function readJsonFile<T>(file: string): T | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as T;
}
