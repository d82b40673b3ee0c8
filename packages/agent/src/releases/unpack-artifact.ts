// Unpacks a release artifact (the .tar.gz `fleet deploy` uploads) into a new
// release folder. The bytes come over the network from whoever holds a deploy
// token, so they are treated as hostile:
//
//   1. list every entry and judge the whole archive before writing a byte:
//      paths and link targets must stay inside the release folder, only files,
//      folders and links are allowed, and size and entry count are bounded;
//   2. extract into a sibling staging folder, then rename it into place.
//
// So on any failure nothing exists at destDir and no staging folder is left.
// tar's own guards (preservePaths: false, strict) stay on underneath: by
// default it skips `..` entries with a warning and strips the leading `/` of
// absolute ones, which would leave a quietly different release, not an error.
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tar from 'tar';
import { BadInputError, ConflictError } from '@fleet/protocol';

/** @default 2 GiB */
export const DEFAULT_MAX_UNPACKED_BYTES = 2 * 1024 ** 3;
/** @default 200000 */
export const DEFAULT_MAX_ENTRIES = 200_000;

export interface UnpackLimits {
  /** Sum of the entries' sizes. @default 2 GiB */
  maxUnpackedBytes?: number;
  /** Number of entries (files, folders, links). @default 200000 */
  maxEntries?: number;
}

export interface UnpackResult {
  /** Regular files written (hard links included). */
  files: number;
  bytes: number;
}

const REBUILD_HINT = 'rebuild the artifact with fleet deploy; nothing was written';
/** Symlinks followed while resolving one target before calling it a loop (Linux stops at 40 too). */
const MAX_LINK_HOPS = 40;
const FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const ALLOWED_TYPES = new Set([...FILE_TYPES, 'Directory', 'SymbolicLink', 'Link']);

interface ListedEntry {
  /** As written in the archive, for messages. */
  raw: string;
  /** Normalized, no trailing slash; '.' for the root itself. */
  path: string;
  type: string;
  linkpath: string;
  size: number;
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of fs.createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function unpackArtifact(file: string, destDir: string, opts: UnpackLimits = {}): Promise<UnpackResult> {
  const dest = path.resolve(destDir);
  assertFree(dest);
  assertGzip(file);
  const entries = await listEntries(file, {
    maxUnpackedBytes: opts.maxUnpackedBytes ?? DEFAULT_MAX_UNPACKED_BYTES,
    maxEntries: opts.maxEntries ?? DEFAULT_MAX_ENTRIES,
  });
  assertLinksInside(entries);

  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const staging = `${dest}.unpacking-${randomBytes(6).toString('hex')}`;
  fs.mkdirSync(staging);
  try {
    await extractListed(file, staging, entries);
    assertFree(dest);
    fs.renameSync(staging, dest);
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    throw err;
  }
  const written = entries.filter((e) => FILE_TYPES.has(e.type) || e.type === 'Link');
  return { files: written.length, bytes: entries.reduce((sum, e) => sum + e.size, 0) };
}

function assertFree(dest: string): void {
  if (fs.lstatSync(dest, { throwIfNoEntry: false }) !== undefined) {
    throw new ConflictError(`the release folder already exists: ${dest}`, {
      hint: 'each release unpacks into a new folder: remove the old one or deploy under a new release id',
    });
  }
}

/** tar itself would also read plain, brotli or zstd archives; an artifact is gzip, and garbage gets a plain answer. */
function assertGzip(file: string): void {
  const head = Buffer.alloc(2);
  const fd = fs.openSync(file, 'r');
  try {
    fs.readSync(fd, head, 0, 2, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (head[0] !== 0x1f || head[1] !== 0x8b) {
    throw new BadInputError(`the artifact is not a gzip file: ${file}`, { hint: REBUILD_HINT });
  }
}

/** First pass: reads the whole archive, writes nothing; stops at the first entry that breaks a rule. */
function listEntries(file: string, limits: Required<UnpackLimits>): Promise<ListedEntry[]> {
  return new Promise((resolve, reject) => {
    const entries: ListedEntry[] = [];
    let bytes = 0;
    let settled = false;
    const source = fs.createReadStream(file);
    const fail = (err: unknown): void => {
      if (settled) return;
      settled = true;
      source.destroy();
      reject(err);
    };
    const parser = new tar.Parser({
      strict: true,
      onReadEntry: (entry) => {
        entry.resume();
        if (settled) return;
        const listed = toListed(entry);
        const problem = entryProblem(listed);
        if (problem !== undefined) return fail(new BadInputError(problem, { hint: REBUILD_HINT }));
        entries.push(listed);
        bytes += listed.size;
        if (entries.length > limits.maxEntries) {
          fail(new BadInputError(`the artifact has more than ${limits.maxEntries} entries`, { hint: REBUILD_HINT }));
        } else if (bytes > limits.maxUnpackedBytes) {
          fail(new BadInputError(`the artifact unpacks to more than ${limits.maxUnpackedBytes} bytes`, { hint: REBUILD_HINT }));
        }
      },
    });
    parser.on('error', (err: Error) => {
      fail(new BadInputError(`the artifact is damaged: ${err.message}`, { hint: REBUILD_HINT, cause: err }));
    });
    parser.on('end', () => {
      if (settled) return;
      settled = true;
      if (entries.length === 0) reject(new BadInputError('the artifact is empty', { hint: REBUILD_HINT }));
      else resolve(entries);
    });
    source.on('error', fail);
    source.pipe(parser);
  });
}

function toListed(entry: tar.ReadEntry): ListedEntry {
  const raw = entry.path;
  return {
    raw,
    path: path.posix.normalize(raw).replace(/\/+$/, '') || '.',
    type: entry.type,
    linkpath: entry.linkpath ?? '',
    size: entry.size,
  };
}

/** The rules one entry can break on its own. */
function entryProblem(e: ListedEntry): string | undefined {
  if (!ALLOWED_TYPES.has(e.type)) return `the artifact has an entry of type ${e.type}, which a release may not hold: "${e.raw}"`;
  if (e.raw === '' || e.raw.includes('\0')) return `the artifact has an entry with an invalid name: "${e.raw}"`;
  if (escapes(e.raw) || (e.path === '.' && e.type !== 'Directory')) {
    return `the artifact has an entry that escapes the release folder: "${e.raw}"`;
  }
  if (e.type === 'SymbolicLink') {
    const target = path.posix.join(path.posix.dirname(e.path), e.linkpath);
    if (isAbsolute(e.linkpath) || outside(target)) return linkMessage(e);
  }
  // A hard link's target is an archive path, from the root, not from the link's folder.
  if (e.type === 'Link' && (escapes(e.linkpath) || e.linkpath === '')) return linkMessage(e);
  return undefined;
}

/**
 * The rules the archive breaks as a whole: links are judged by where they
 * lead after following the archive's own symlinks (`a/s -> ..` then
 * `b -> a/s/..` leaves the folder although each target looks inside), and no
 * entry may sit beneath a symlink, whose target decides where it lands.
 */
function assertLinksInside(entries: ListedEntry[]): void {
  const symlinks = new Map<string, string>();
  for (const e of entries) if (e.type === 'SymbolicLink') symlinks.set(e.path, e.linkpath);

  for (const e of entries) {
    const parts = e.path.split('/');
    for (let i = 1; i < parts.length; i++) {
      if (symlinks.has(parts.slice(0, i).join('/'))) {
        throw new BadInputError(`the artifact has an entry beneath a symlink: "${e.raw}"`, { hint: REBUILD_HINT });
      }
    }
    const from = e.type === 'SymbolicLink' ? path.posix.dirname(e.path) : e.type === 'Link' ? '.' : undefined;
    if (from !== undefined && resolveInside(`${from}/${e.linkpath}`, symlinks) === undefined) {
      throw new BadInputError(linkMessage(e), { hint: REBUILD_HINT });
    }
  }
}

/** Follows `target` (relative to the release root) through the archive's symlinks; undefined once it leaves the root. */
function resolveInside(target: string, symlinks: Map<string, string>): string | undefined {
  const done: string[] = [];
  const todo = target.split('/');
  let hops = 0;
  while (todo.length > 0) {
    const part = todo.shift()!;
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (done.length === 0) return undefined;
      done.pop();
      continue;
    }
    done.push(part);
    const link = symlinks.get(done.join('/'));
    if (link === undefined) continue;
    if (++hops > MAX_LINK_HOPS || isAbsolute(link)) return undefined;
    done.pop();
    todo.unshift(...link.split('/'));
  }
  return done.join('/');
}

/** Second pass: tar extracts exactly the entries judged in the first, or the whole unpack fails. */
async function extractListed(file: string, staging: string, entries: ListedEntry[]): Promise<void> {
  let index = 0;
  let changed: string | undefined;
  try {
    await tar.x({
      file,
      cwd: staging,
      strict: true,
      preservePaths: false,
      // Files belong to the agent's user, even when it runs as root.
      preserveOwner: false,
      // The file could have been replaced since the first pass.
      filter: (_path, entry) => {
        const seen = toListed(entry as tar.ReadEntry);
        const judged = entries[index++];
        const same = judged !== undefined && judged.raw === seen.raw && judged.type === seen.type && judged.linkpath === seen.linkpath;
        if (!same && changed === undefined) changed = seen.raw;
        return changed === undefined;
      },
      onReadEntry: (entry) => {
        // No setuid/setgid/sticky: a release must not hand its files more rights than the user running it.
        if (typeof entry.mode === 'number') entry.mode &= 0o777;
      },
    });
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string' && code.startsWith('TAR_')) {
      throw new BadInputError(`the artifact could not be unpacked: ${(err as Error).message}`, { hint: REBUILD_HINT, cause: err });
    }
    throw err;
  }
  if (changed !== undefined || index !== entries.length) {
    throw new BadInputError(`the artifact changed while it was being unpacked (at "${changed ?? 'its end'}")`, { hint: REBUILD_HINT });
  }
}

function linkMessage(e: ListedEntry): string {
  return `the artifact has a link that points outside the release folder: "${e.raw}" -> "${e.linkpath}"`;
}

function isAbsolute(p: string): boolean {
  return p.startsWith('/') || p.startsWith('\\') || /^[a-zA-Z]:/.test(p);
}

/** Absolute, or a `..` segment anywhere (either separator): never needed by a packed folder. */
function escapes(p: string): boolean {
  return isAbsolute(p) || p.split(/[\\/]/).includes('..') || outside(path.posix.normalize(p));
}

function outside(p: string): boolean {
  const n = path.posix.normalize(p);
  return n === '..' || n.startsWith('../');
}
