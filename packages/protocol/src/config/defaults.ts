// Every default the config compiler applies, in one place. PM2's values where
// PM2 has one, so an ecosystem file behaves the same under Fleet.
import * as path from 'node:path';
import { safeFileName } from '../fleet-home';
import { ExecMode } from '../gen/fleet/v1/app';

export const DEFAULTS = {
  /** @default 1 — `instances`; "max" means one per CPU, -1 all CPUs but one. */
  instances: 1,
  /**
   * @default "fork" — `exec_mode`. As in PM2, a Node.js app that sets `instances`
   * without `exec_mode` runs in cluster mode (see compile-app.ts).
   */
  execMode: ExecMode.EXEC_MODE_FORK,
  /** @default true — `autorestart`: restart an instance that exits (unless its code is in stop_exit_codes). */
  autorestart: true,
  /** @default 16 — `max_restarts`: consecutive unstable crashes before the app is `errored`. */
  maxRestarts: 16,
  /** @default 1000 ms — `min_uptime`: a run shorter than this is a crash. */
  minUptimeMs: 1000,
  /** @default 0 ms — `restart_delay`: wait before restarting a crashed instance. */
  restartDelayMs: 0,
  /** @default 0 (off) — `exp_backoff_restart_delay`: first delay of the exponential backoff. */
  expBackoffRestartDelayMs: 0,
  /** @default [] — `stop_exit_codes`: exit codes that mean "done, do not restart". */
  stopExitCodes: [] as number[],
  /**
   * @default 30000 ms — `stable_after` (Fleet): uptime after which backoff and the crash
   * counter reset. A crash loop reaches `errored` after max_restarts consecutive runs
   * each shorter than max(min_uptime, stable_after).
   */
  stableAfterMs: 30_000,
  /** @default 0 (off) — `max_memory_restart`: restart an instance whose RSS passes this. */
  maxMemoryBytes: 0,
  /** @default 3000 ms — `memory_check_interval` (Fleet): how often RSS is sampled for max_memory_restart. */
  memoryCheckIntervalMs: 3000,
  /** @default "" (none) — `cron_restart`. */
  cronRestart: '',
  /** @default 1600 ms — `kill_timeout`: SIGKILL this long after kill_signal. */
  killTimeoutMs: 1600,
  /** @default "SIGINT" — `kill_signal`: the graceful stop signal. */
  killSignal: 'SIGINT',
  /** @default 3000 ms — `listen_timeout`: how long to wait for `ready` / listening. */
  listenTimeoutMs: 3000,
  /** @default false — `wait_ready`: online only after the app sends process.send('ready'). */
  waitReady: false,
  /** @default "NODE_APP_INSTANCE" — `instance_var`: env var holding the instance number. */
  instanceVar: 'NODE_APP_INSTANCE',
  /** @default "" (none) — `increment_var`: env var incremented per instance, e.g. PORT. */
  incrementVar: '',
  /** @default 1000 ms — `watch_delay`: debounce between a file change and the restart. */
  watchDebounceMs: 1000,
  /** Always ignored by `watch`, whatever `ignore_watch` says. */
  watchAlwaysIgnore: ['node_modules', '.git'] as readonly string[],
  /** @default "10M" — `log_max_size` (Fleet): rotate a log file past this size; 0 disables rotation. */
  logMaxSize: '10M',
  /** @default 5 — `log_retain` (Fleet): rotated files kept per log file. */
  logRetain: 5,
  /** @default false — `log_compress` (Fleet): gzip rotated files. */
  logCompress: false,
  /** The date format `time: true` selects when `log_date_format` is not set (PM2's). */
  timeDateFormat: 'YYYY-MM-DDTHH:mm:ss',
  /** @default "/dev/null" semantics: these out_file / error_file values disable that stream's log. */
  nullLogFiles: ['/dev/null', 'NULL'] as readonly string[],
} as const;

/** @default `${logsDir}/${safeName}-out.log` — `out_file`. */
export function defaultOutFile(logsDir: string, appName: string): string {
  return path.resolve(logsDir, `${safeFileName(appName)}-out.log`);
}

/** @default `${logsDir}/${safeName}-error.log` — `error_file`. */
export function defaultErrorFile(logsDir: string, appName: string): string {
  return path.resolve(logsDir, `${safeFileName(appName)}-error.log`);
}
