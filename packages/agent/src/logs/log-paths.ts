// Which files an app's output actually lands in, and the names of their
// rotated generations. The runner (writing), the agent (`fleet logs`, tailing)
// and `fleet flush` all derive paths here so they can never disagree.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ExecMode, type LogSpec } from '@fleet/protocol/runner';

/** Where disabled output goes; nothing is opened for it. */
export const DISCARD_PATH = '/dev/null';

export type LogStreamName = 'out' | 'err';

export interface LogFileRef {
  path: string;
  /** 'out' and 'err' share a path when out_file and error_file are the same file. */
  streams: LogStreamName[];
  /** The instance writing it; null when every instance writes to it (merged). */
  instance: number | null;
}

/**
 * PM2's rule: one file pair per instance in cluster mode or with several
 * instances, one pair for the app otherwise (merge_logs overrides it to one).
 */
export function usesPerInstanceFiles(execMode: ExecMode, instances: number): boolean {
  return execMode === ExecMode.EXEC_MODE_CLUSTER || instances > 1;
}

/**
 * The out/err paths instance `instance` writes to. Per-instance files insert
 * `-<instance>` before `.log` (`app-out.log` → `app-out-2.log`), appended when
 * the name has no `.log` suffix. A disabled spec (or an empty path) maps to
 * DISCARD_PATH, which callers must not open as a RotatingLogFile.
 */
export function logFilesFor(spec: LogSpec, instance: number, perInstance: boolean): { out: string; err: string } {
  const split = perInstance && !spec.merge;
  const resolve = (file: string): string => {
    if (spec.disabled || file === '' || file === DISCARD_PATH) return DISCARD_PATH;
    return split ? withInstanceSuffix(file, instance) : file;
  };
  return { out: resolve(spec.outFile), err: resolve(spec.errorFile) };
}

/** Every distinct file the app's instances write to, discarded output left out. */
export function allLogFiles(spec: LogSpec, instances: number, perInstance: boolean): LogFileRef[] {
  const split = perInstance && !spec.merge;
  const byPath = new Map<string, LogFileRef>();
  const count = split ? Math.max(instances, 1) : 1;
  for (let i = 0; i < count; i++) {
    const files = logFilesFor(spec, i, perInstance);
    for (const stream of ['out', 'err'] as const) {
      const file = files[stream];
      if (file === DISCARD_PATH) continue;
      const ref = byPath.get(file);
      if (ref) ref.streams.push(stream);
      else byPath.set(file, { path: file, streams: [stream], instance: split ? i : null });
    }
  }
  return [...byPath.values()];
}

function withInstanceSuffix(file: string, instance: number): string {
  return file.endsWith('.log') ? `${file.slice(0, -4)}-${instance}.log` : `${file}-${instance}`;
}

/** `x.log.<n>` or, compressed, `x.log.<n>.gz`; generation 1 is the newest rotated file. */
export function rotatedPath(file: string, generation: number, compressed: boolean): string {
  return `${file}.${generation}${compressed ? '.gz' : ''}`;
}

/** Rotated generations of `file` present on disk (plain, gzipped or half-compressed), by name. */
export async function listRotatedFiles(file: string): Promise<string[]> {
  const dir = path.dirname(file);
  const base = path.basename(file);
  let names: string[];
  try {
    names = await fs.promises.readdir(dir);
  } catch (err) {
    if (isNotFound(err)) return [];
    throw err;
  }
  // Also matches compression temp files (`x.log.<pid>-<n>.gz.tmp`) left by a crashed runner.
  return names
    .filter((n) => n.startsWith(`${base}.`) && /^(\d+(\.gz)?|\d+-\d+\.gz\.tmp)$/.test(n.slice(base.length + 1)))
    .map((n) => path.join(dir, n));
}

/**
 * PM2 `flush`: truncate the current files and delete every rotated one. The
 * runner keeps writing: its fds are O_APPEND, so the next line lands at offset
 * 0 of the truncated file instead of leaving a hole.
 */
export async function flushLogFiles(paths: string[]): Promise<void> {
  await Promise.all(
    paths
      .filter((p) => p !== DISCARD_PATH && p !== '')
      .map(async (file) => {
        try {
          await fs.promises.truncate(file, 0);
        } catch (err) {
          if (!isNotFound(err)) throw err;
        }
        const rotated = await listRotatedFiles(file);
        await Promise.all(
          rotated.map((r) =>
            fs.promises.unlink(r).catch((err: unknown) => {
              if (!isNotFound(err)) throw err;
            }),
          ),
        );
      }),
  );
}

export function isNotFound(err: unknown): boolean {
  return (err as NodeJS.ErrnoException | null)?.code === 'ENOENT';
}
