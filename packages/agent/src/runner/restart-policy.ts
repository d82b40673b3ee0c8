// What to do when an instance exits on its own: restart it (after how long),
// leave it stopped, or give up on a crash loop. A pure function of the policy,
// the instance's restart history and the exit; the runner owns timers and
// processes and acts on the decision. Only unplanned exits reach here: a stop
// or restart the user asked for never does.
//
// Differences from PM2 (God.handleExit), on purpose:
// - A run is judged stable or not from its own uptime, exactly, against
//   max(min_uptime, stable_after). PM2 counts only runs shorter than
//   min_uptime as unstable, so an app crashing every 5 s restarts forever, and
//   it resets the backoff from a 30 s timer sample.
// - A stable run resets both the crash count and the exponential backoff.
// - The first backoff delay is capped too, so no delay ever exceeds
//   max(restart_delay, 15 s).
//
// The errored boundary (same count as PM2's `unstable_restarts >= max_restarts`):
// the Nth unstable exit in a row, N = max(1, maxRestarts), is `errored`; exits
// 1..N-1 restart. With max_restarts 16: 15 automatic restarts, the 16th crash
// errors. max_restarts 0 behaves as 1: the first unstable exit errors. A
// stable run never errors, whatever maxRestarts is.

import type { RestartSpec } from '@fleet/protocol/runner';

/** Ceiling of the exponential backoff, as in PM2. */
export const MAX_BACKOFF_MS = 15_000;

/** Growth of the exponential backoff per consecutive unstable exit. */
export const BACKOFF_FACTOR = 1.5;

export interface RestartHistory {
  /** Exits in a row whose run was shorter than the stability window. */
  consecutiveUnstable: number;
  /** Last exponential delay used; 0 = none yet in the current series. */
  lastBackoffMs: number;
  /** Total automatic restarts (the "restarts" column of `ls`); never reset here. */
  restarts: number;
}

export const initialHistory = (): RestartHistory => ({
  consecutiveUnstable: 0,
  lastBackoffMs: 0,
  restarts: 0,
});

export interface ExitInfo {
  /** Exit code, or null when a signal ended the process. */
  code: number | null;
  /** Signal name (SIGKILL), or null on a normal exit. */
  signal: string | null;
  /** How long this run lasted, from spawn to exit. */
  uptimeMs: number;
}

export type RestartDecision =
  | { action: 'restart'; delayMs: number; reason: string; history: RestartHistory }
  /** Done: autorestart is off, or the exit code is one of stop_exit_codes. */
  | { action: 'stop'; reason: string; history: RestartHistory }
  /** Crash loop: too many unstable exits in a row. */
  | { action: 'errored'; reason: string; history: RestartHistory };

/** Uptime below which a run counts as unstable: max(min_uptime, stable_after). */
export function stabilityWindowMs(policy: RestartSpec): number {
  return Math.max(policy.minUptimeMs, policy.stableAfterMs);
}

/** True when max_memory_restart is set and the instance's RSS is above it. */
export function memoryExceeded(policy: RestartSpec, rssBytes: number): boolean {
  return policy.maxMemoryBytes > 0 && rssBytes > policy.maxMemoryBytes;
}

/**
 * Decides what follows an unplanned exit. The returned history is the one to
 * keep: it accounts for this exit whatever the action (so a later `start` by
 * the user may keep or reset it, as the caller sees fit); `restarts` grows by
 * one exactly when the action is `restart`.
 */
export function decideRestart(
  policy: RestartSpec,
  history: RestartHistory,
  exit: ExitInfo,
): RestartDecision {
  const window = stabilityWindowMs(policy);
  const unstable = exit.uptimeMs < window;
  // A stable run starts a new series: crash count and backoff both reset.
  const consecutiveUnstable = unstable ? history.consecutiveUnstable + 1 : 0;
  const lastBackoffMs = unstable ? history.lastBackoffMs : 0;
  const exited = `${describeExit(exit)} after ${formatDuration(exit.uptimeMs)}`;

  if (!policy.autorestart) {
    return {
      action: 'stop',
      reason: `${exited}; autorestart is off`,
      history: { consecutiveUnstable, lastBackoffMs, restarts: history.restarts },
    };
  }
  // A signal exit has code null, so it never matches a stop exit code.
  if (exit.code !== null && policy.stopExitCodes.includes(exit.code)) {
    return {
      action: 'stop',
      reason: `${exited}; ${exit.code} is a stop exit code, not restarting`,
      history: { consecutiveUnstable, lastBackoffMs, restarts: history.restarts },
    };
  }

  const limit = Math.max(1, policy.maxRestarts);
  if (unstable && consecutiveUnstable >= limit) {
    return {
      action: 'errored',
      reason:
        `${exited}; ${consecutiveUnstable} unstable exits in a row ` +
        `(each run under ${formatDuration(window)}), not restarting`,
      history: { consecutiveUnstable, lastBackoffMs, restarts: history.restarts },
    };
  }

  let delayMs: number;
  let nextBackoffMs = 0;
  if (policy.expBackoffRestartDelayMs > 0) {
    const grown =
      lastBackoffMs === 0 ? policy.expBackoffRestartDelayMs : Math.round(lastBackoffMs * BACKOFF_FACTOR);
    delayMs = Math.min(MAX_BACKOFF_MS, grown);
    nextBackoffMs = delayMs;
  } else {
    delayMs = Math.max(0, policy.restartDelayMs);
  }

  const count = unstable ? ` (${consecutiveUnstable}/${limit})` : ' (stable run)';
  return {
    action: 'restart',
    delayMs,
    reason: `${exited}; restart in ${formatDuration(delayMs)}${count}`,
    history: { consecutiveUnstable, lastBackoffMs: nextBackoffMs, restarts: history.restarts + 1 },
  };
}

/**
 * The history to keep when the user starts or restarts the instance: a new
 * series (an errored app gets its full max_restarts again), same total count.
 */
export function historyForUserStart(history: RestartHistory): RestartHistory {
  return { consecutiveUnstable: 0, lastBackoffMs: 0, restarts: history.restarts };
}

function describeExit(exit: ExitInfo): string {
  if (exit.signal !== null) return `killed by ${exit.signal}`;
  if (exit.code !== null) return `exited with code ${exit.code}`;
  return 'exited';
}

/** Milliseconds as a person reads them: 230 ms, 4.2 s, 3 min 5 s, 2 h 10 min. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${trimZero((ms / 1000).toFixed(1))} s`;
  const totalSeconds = Math.floor(ms / 1000);
  if (totalSeconds < 3600) {
    const s = totalSeconds % 60;
    return `${Math.floor(totalSeconds / 60)} min${s ? ` ${s} s` : ''}`;
  }
  const minutes = Math.floor(totalSeconds / 60) % 60;
  return `${Math.floor(totalSeconds / 3600)} h${minutes ? ` ${minutes} min` : ''}`;
}

function trimZero(fixed: string): string {
  return fixed.endsWith('.0') ? fixed.slice(0, -2) : fixed;
}
