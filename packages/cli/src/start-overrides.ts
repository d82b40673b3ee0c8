// `fleet start` flags → PM2 snake_case keys, the vocabulary the config compiler
// reads. A flag that was not given sets nothing, so a config file's own value
// stands unless the command line says otherwise.

import type { HostFlags } from './host-options';

/** The options commander hands to `start` (names as commander derives them). */
export interface StartFlags extends HostFlags {
  name?: string;
  instances?: number | 'max';
  env?: string;
  maxMemoryRestart?: string;
  waitReady?: boolean;
  listenTimeout?: number | string;
  killTimeout?: number | string;
  cwd?: string;
  interpreter?: string;
  nodeArgs?: string;
  restartDelay?: number | string;
  expBackoffRestartDelay?: number | string;
  maxRestarts?: number;
  minUptime?: number | string;
  /** commander's --no-autorestart: false only when the flag was given. */
  autorestart?: boolean;
  cronRestart?: string;
  logDateFormat?: string;
  mergeLogs?: boolean;
  /** --watch alone: true; --watch src,lib: the paths. */
  watch?: boolean | string;
  ignoreWatch?: string[];
  updateEnv?: boolean;
  strict?: boolean;
  json?: boolean;
}

export type Overrides = Record<string, unknown>;

export function startOverrides(flags: StartFlags, args: string[]): Overrides {
  const o: Overrides = {};
  if (flags.name !== undefined) o.name = flags.name;
  if (flags.instances !== undefined) {
    // No exec_mode here: the compiler runs a Node app with `instances` in cluster mode
    // (PM2's rule) and leaves non-Node scripts (python, npm) in fork mode.
    o.instances = flags.instances;
  }
  if (flags.maxMemoryRestart !== undefined) o.max_memory_restart = flags.maxMemoryRestart;
  if (flags.waitReady) o.wait_ready = true;
  if (flags.listenTimeout !== undefined) o.listen_timeout = flags.listenTimeout;
  if (flags.killTimeout !== undefined) o.kill_timeout = flags.killTimeout;
  if (flags.cwd !== undefined) o.cwd = flags.cwd;
  if (flags.interpreter !== undefined) o.interpreter = flags.interpreter;
  if (flags.nodeArgs !== undefined) o.node_args = flags.nodeArgs;
  if (flags.restartDelay !== undefined) o.restart_delay = flags.restartDelay;
  if (flags.expBackoffRestartDelay !== undefined) o.exp_backoff_restart_delay = flags.expBackoffRestartDelay;
  if (flags.maxRestarts !== undefined) o.max_restarts = flags.maxRestarts;
  if (flags.minUptime !== undefined) o.min_uptime = flags.minUptime;
  if (flags.autorestart === false) o.autorestart = false;
  if (flags.cronRestart !== undefined) o.cron_restart = flags.cronRestart;
  if (flags.logDateFormat !== undefined) o.log_date_format = flags.logDateFormat;
  if (flags.mergeLogs) o.merge_logs = true;
  if (flags.watch !== undefined && flags.watch !== false) {
    o.watch = typeof flags.watch === 'string' ? splitList(flags.watch) : true;
  }
  if (flags.ignoreWatch !== undefined) o.ignore_watch = flags.ignoreWatch;
  if (args.length > 0) o.args = args;
  return o;
}

function splitList(value: string): string[] | true {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return items.length ? items : true;
}
