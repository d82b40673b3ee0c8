// Sends the registry's snapshot to the Fleet runner every report interval.
//
// Only when this process is an instance Fleet started: it has an IPC channel
// and its parent is the runner (FLEET_RUNNER_PID). Run any other way — plain
// `node app.js`, under another supervisor, or as a child process the app
// itself forked — the probe sends nothing and starts no timer. The timer is
// unref'd: it never keeps a process alive.
import type { MetricsMessage } from './message';
import type { Registry } from './registry';

/** @default 5000; FLEET_PROBE_INTERVAL_MS overrides it (tests use a few ms). */
export const DEFAULT_INTERVAL_MS = 5000;

export type Send = (msg: MetricsMessage) => void;

/** How to reach the runner, or undefined when this process is not a Fleet instance. */
export function runnerChannel(proc: NodeJS.Process = process): Send | undefined {
  if (typeof proc.send !== 'function') return undefined;
  const runner = proc.env.FLEET_RUNNER_PID;
  if (!runner || runner !== String(proc.ppid)) return undefined;
  return (msg) => {
    if (!proc.connected) return;
    // The callback turns a send on a closing channel into a no-op instead of an 'error' event.
    proc.send!(msg, undefined, undefined, () => {});
  };
}

export function reportInterval(env: NodeJS.ProcessEnv = process.env): number {
  const ms = Number(env.FLEET_PROBE_INTERVAL_MS);
  return Number.isFinite(ms) && ms >= 10 ? ms : DEFAULT_INTERVAL_MS;
}

/** Starts reporting `registry` over `send`; returns a function that stops it. */
export function startReporting(registry: Registry, send: Send, intervalMs: number): () => void {
  const timer = setInterval(() => {
    try {
      send({ fleet: 'metrics', metrics: registry.snapshot() });
    } catch {
      // reporting must never throw into the app
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
