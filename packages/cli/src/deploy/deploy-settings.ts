// The rollout settings of one deploy: the app's `deploy:` section (Fleet's own
// keys; PM2's ssh keys such as host, repo and post-deploy are left alone),
// with `deploy.<env>` over it for --env, and flags over both. Only flags given
// on the command line count: commander's defaults (`--no-auto-rollback` makes
// autoRollback default to true) must not beat the file.
import type { RolloutStrategy } from '@fleet/protocol';
import { UsageError } from '../usage-error';

export interface DeploySettings {
  strategy: RolloutStrategy;
  includeNodeModules: boolean;
}

/** Flags as commander gives them (durations as strings or numbers). */
export interface DeployFlags {
  batch?: number;
  canary?: number;
  autoPromote?: boolean;
  healthUrl?: string;
  minHealthyTime?: string | number;
  healthyDeadline?: string | number;
  progressDeadline?: string | number;
  autoRollback?: boolean;
  keepReleases?: number;
  install?: string;
  build?: string;
  releaseCommand?: string;
  commandTimeout?: string | number;
  includeNodeModules?: boolean;
}

const KEYS: Record<string, keyof DeployFlags> = {
  batch: 'batch',
  batch_size: 'batch',
  canary: 'canary',
  auto_promote: 'autoPromote',
  health_url: 'healthUrl',
  min_healthy_time: 'minHealthyTime',
  healthy_deadline: 'healthyDeadline',
  progress_deadline: 'progressDeadline',
  auto_rollback: 'autoRollback',
  keep_releases: 'keepReleases',
  install: 'install',
  build: 'build',
  release_command: 'releaseCommand',
  command_timeout: 'commandTimeout',
  include_node_modules: 'includeNodeModules',
};

const FLAG_NAMES = new Set<string>(Object.values(KEYS));

/**
 * The options without those commander filled in by itself (source 'default'),
 * so that the file's `auto_rollback: false` holds unless --no-auto-rollback is
 * typed. `sourceOf` is the command's getOptionValueSource.
 */
export function givenOptions<T extends object>(options: T, sourceOf: (key: string) => string | undefined): Partial<T> {
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(options)) if (sourceOf(key) !== 'default') given[key] = value;
  return given as Partial<T>;
}

/** Reads Fleet's keys of a deploy section (snake_case or camelCase). */
function fromSection(section: unknown): DeployFlags {
  const out: Record<string, unknown> = {};
  if (!section || typeof section !== 'object' || Array.isArray(section)) return out;
  for (const [key, value] of Object.entries(section as Record<string, unknown>)) {
    const snake = key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const flag = KEYS[snake];
    if (flag) out[flag] = value;
  }
  // `health: { url }` reads as well as health_url.
  const health = (section as Record<string, unknown>).health;
  if (health && typeof health === 'object' && typeof (health as { url?: unknown }).url === 'string') out.healthUrl ??= (health as { url: string }).url;
  return out as DeployFlags;
}

export function deploySettings(deployJson: string, envName: string | undefined, flags: DeployFlags): DeploySettings {
  let section: Record<string, unknown> = {};
  try {
    section = deployJson ? (JSON.parse(deployJson) as Record<string, unknown>) : {};
  } catch {
    section = {};
  }
  const merged: DeployFlags = { ...fromSection(section), ...(envName ? fromSection(section[envName]) : {}) };
  for (const [k, v] of Object.entries(flags)) if (v !== undefined && FLAG_NAMES.has(k)) (merged as Record<string, unknown>)[k] = v;
  // Loaded here, not at the top: this file is part of every CLI start (see commands/deploy.ts).
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parseDuration } = require('@fleet/protocol/config') as typeof import('@fleet/protocol/config');
  const ms = (v: string | number | undefined, key: string): number => (v === undefined ? 0 : parseDuration(v, key));
  const count = (v: unknown, key: string): number => {
    if (v === undefined) return 0;
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new UsageError(`${key} ${JSON.stringify(v)} is not a whole number`, `e.g. ${key} 2`);
    return n;
  };
  const batch = count(merged.batch, '--batch');
  if (merged.batch !== undefined && batch === 0) throw new UsageError('--batch 0 would switch no host', 'use 1 or more');
  return {
    strategy: {
      batchSize: batch,
      canary: count(merged.canary, '--canary'),
      autoPromote: merged.autoPromote === true,
      healthUrl: merged.healthUrl ?? '',
      // 0 on the wire means "the default"; a user's explicit 0 means "no wait", the smallest non-zero.
      minHealthyMs: merged.minHealthyTime === undefined ? 0 : Math.max(1, ms(merged.minHealthyTime, 'min_healthy_time')),
      healthyDeadlineMs: ms(merged.healthyDeadline, 'healthy_deadline'),
      progressDeadlineMs: ms(merged.progressDeadline, 'progress_deadline'),
      noAutoRollback: merged.autoRollback === false,
      keepReleases: count(merged.keepReleases, '--keep-releases'),
      installCommand: merged.install ?? '',
      buildCommand: merged.build ?? '',
      releaseCommand: merged.releaseCommand ?? '',
      commandTimeoutMs: ms(merged.commandTimeout, 'command_timeout'),
    },
    includeNodeModules: merged.includeNodeModules === true,
  };
}
