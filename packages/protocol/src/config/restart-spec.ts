// The restart policy's numbers. Deciding when to restart is the runner's job
// (restart-policy.ts in the agent); this only reads and checks the values.
import type { RestartSpec } from '../gen/fleet/v1/app';
import { readBoolean, readInteger } from './coerce';
import { ConfigError } from './config-error';
import { parseCron } from './cron';
import { DEFAULTS } from './defaults';
import type { ReadKey } from './pm2-keys';
import { parseDuration, parseSize } from './units';

export function buildRestartSpec(get: ReadKey): RestartSpec {
  const duration = (key: Parameters<ReadKey>[0], fallback: number): number => {
    const e = get(key);
    return e ? parseDuration(e.value, e.key) : fallback;
  };
  const autorestart = get('autorestart');
  const maxRestarts = get('max_restarts');
  const maxMemory = get('max_memory_restart');
  const stopCodes = get('stop_exit_codes');
  const cron = get('cron_restart');
  const memoryCheckIntervalMs = duration('memory_check_interval', DEFAULTS.memoryCheckIntervalMs);
  if (memoryCheckIntervalMs < 100) {
    const key = get('memory_check_interval')?.key ?? 'memory_check_interval';
    throw new ConfigError(`${key} must be at least 100 ms, got ${memoryCheckIntervalMs}`, {
      key,
      hint: `sampling memory more often than every 100 ms costs more than it catches; e.g. ${key}: "3s"`,
    });
  }
  return {
    autorestart: autorestart ? readBoolean(autorestart.value, autorestart.key) : DEFAULTS.autorestart,
    maxRestarts: maxRestarts ? readInteger(maxRestarts.value, maxRestarts.key) : DEFAULTS.maxRestarts,
    minUptimeMs: duration('min_uptime', DEFAULTS.minUptimeMs),
    restartDelayMs: duration('restart_delay', DEFAULTS.restartDelayMs),
    expBackoffRestartDelayMs: duration('exp_backoff_restart_delay', DEFAULTS.expBackoffRestartDelayMs),
    stopExitCodes: stopCodes ? readExitCodes(stopCodes.value, stopCodes.key) : [...DEFAULTS.stopExitCodes],
    stableAfterMs: duration('stable_after', DEFAULTS.stableAfterMs),
    maxMemoryBytes: maxMemory ? parseSize(maxMemory.value, maxMemory.key) : DEFAULTS.maxMemoryBytes,
    memoryCheckIntervalMs,
    cronRestart: cron ? parseCron(cron.value, cron.key) : DEFAULTS.cronRestart,
  };
}

/** 0, "0", [0, 2] or "0,2": exit codes a process can actually return (0-255). */
function readExitCodes(v: unknown, key: string): number[] {
  const items = Array.isArray(v) ? v : typeof v === 'string' ? v.split(',').filter((s) => s.trim() !== '') : [v];
  return items.map((item) => {
    const code = readInteger(item, key);
    if (code > 255) {
      throw new ConfigError(`${key} holds ${code}, but exit codes go from 0 to 255`, { key, hint: `e.g. ${key}: [0, 2]` });
    }
    return code;
  });
}
