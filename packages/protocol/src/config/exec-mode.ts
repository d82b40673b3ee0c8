// How many instances, and how they run: PM2's `instances` and `exec_mode`.
import { ExecMode } from '../gen/fleet/v1/app';
import { ConfigError } from './config-error';

/**
 * A count from 4, "4", "max" (one per CPU), or a negative number: all CPUs but
 * that many (-1 = cpus-1), never fewer than one. 0 is refused: PM2 reads it as
 * "max", which surprises more people than it helps.
 */
export function resolveInstances(v: unknown, key: string, cpuCount: number): number {
  const cpus = Math.max(1, Math.floor(cpuCount));
  if (typeof v === 'string' && v.trim().toLowerCase() === 'max') return cpus;
  const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n)) {
    throw new ConfigError(`${key} must be a whole number or "max", got ${JSON.stringify(v)}`, {
      key,
      hint: `e.g. ${key}: 4, ${key}: "max" (one per CPU) or ${key}: -1 (all CPUs but one)`,
    });
  }
  if (n === 0) {
    throw new ConfigError(`${key} must be at least 1; use 'max' for one per CPU`, {
      key,
      hint: `set ${key} to a positive number, to "max" for one per CPU, or to -1 for all CPUs but one`,
    });
  }
  return n > 0 ? n : Math.max(1, cpus + n);
}

/** "fork", "fork_mode", "cluster", "cluster_mode" (any case). */
export function parseExecMode(v: unknown, key: string): ExecMode {
  const s = typeof v === 'string' ? v.trim().toLowerCase() : undefined;
  if (s === 'fork' || s === 'fork_mode') return ExecMode.EXEC_MODE_FORK;
  if (s === 'cluster' || s === 'cluster_mode') return ExecMode.EXEC_MODE_CLUSTER;
  throw new ConfigError(`${key} must be "fork" or "cluster", got ${JSON.stringify(v)}`, {
    key,
    hint: `use ${key}: "cluster" for a Node.js app whose instances share ports, "fork" otherwise`,
  });
}
