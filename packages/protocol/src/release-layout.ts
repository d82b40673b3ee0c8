// Where a release lives, said once for the CLI (which compiles specs against
// RELEASE_DIR), the controller (which stores them) and the agent (which puts
// each release in its own folder and points RELEASE_DIR there).
import * as path from 'node:path';
import type { AppSpec } from './gen/fleet/v1/app';
import type { RolloutStrategy } from './gen/fleet/v1/release';

/**
 * Names of deployed apps become folder names on every host, so they are held
 * to a rule that maps one to one onto a file name: no ".", "..", no slash, no
 * two names sharing a folder (PM2 allows "shop:api"; a deploy does not).
 */
export const RELEASE_APP_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export function releaseAppNameProblem(name: string): string | undefined {
  if (RELEASE_APP_NAME.test(name)) return undefined;
  return `"${name}" cannot be deployed: an app released to hosts needs a name of letters, digits, dot, dash and underscore, starting with a letter or digit`;
}

/** Stands for the release's folder on whichever host runs it. */
export const RELEASE_DIR = '/@fleet-release';

/** A path compiled against RELEASE_DIR, placed in a host's release folder. */
export function placeReleasePath(file: string, releaseDir: string): string {
  if (file === RELEASE_DIR) return releaseDir;
  return file.startsWith(`${RELEASE_DIR}/`) ? path.join(releaseDir, file.slice(RELEASE_DIR.length + 1)) : file;
}

/** The spec as one host runs it: every RELEASE_DIR path in that host's folder. */
export function placeReleaseSpec(spec: AppSpec, releaseDir: string): AppSpec {
  const place = (p: string): string => placeReleasePath(p, releaseDir);
  return {
    ...spec,
    script: place(spec.script),
    cwd: place(spec.cwd),
    args: spec.args.map(place),
    log: spec.log ? { ...spec.log, outFile: place(spec.log.outFile), errorFile: place(spec.log.errorFile) } : spec.log,
  };
}

/** The published defaults; a strategy's zero fields take these. */
export const DEFAULT_STRATEGY = {
  batchSize: 1,
  canary: 0,
  minHealthyMs: 10_000,
  healthyDeadlineMs: 5 * 60_000,
  progressDeadlineMs: 30 * 60_000,
  keepReleases: 5,
  commandTimeoutMs: 10 * 60_000,
} as const;

/** A strategy with every default filled in. */
export function withDefaults(s: RolloutStrategy | undefined): RolloutStrategy {
  const given = s ?? ({} as Partial<RolloutStrategy>);
  const pick = (v: number | undefined, d: number): number => (v && v > 0 ? v : d);
  return {
    batchSize: pick(given.batchSize, DEFAULT_STRATEGY.batchSize),
    canary: Math.max(0, given.canary ?? 0),
    autoPromote: given.autoPromote ?? false,
    healthUrl: given.healthUrl ?? '',
    minHealthyMs: pick(given.minHealthyMs, DEFAULT_STRATEGY.minHealthyMs),
    healthyDeadlineMs: pick(given.healthyDeadlineMs, DEFAULT_STRATEGY.healthyDeadlineMs),
    progressDeadlineMs: pick(given.progressDeadlineMs, DEFAULT_STRATEGY.progressDeadlineMs),
    noAutoRollback: given.noAutoRollback ?? false,
    keepReleases: pick(given.keepReleases, DEFAULT_STRATEGY.keepReleases),
    installCommand: given.installCommand ?? '',
    buildCommand: given.buildCommand ?? '',
    releaseCommand: given.releaseCommand ?? '',
    commandTimeoutMs: pick(given.commandTimeoutMs, DEFAULT_STRATEGY.commandTimeoutMs),
  };
}
