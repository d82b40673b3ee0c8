// Every key an app may carry: PM2's (lib/API/schema.json, with its aliases and
// camelCase spellings) and Fleet's own. Normalising maps what the user wrote
// onto one canonical snake_case key, remembering the spelling for messages.
import { closest, distance } from 'fastest-levenshtein';

/** Keys the compiler reads, by canonical (PM2 snake_case) name. */
export const APP_KEYS = [
  'script',
  'name',
  'cwd',
  'args',
  'exec_interpreter',
  'node_args',
  'exec_mode',
  'instances',
  'env',
  'port',
  'filter_env',
  'append_env_to_name',
  'out_file',
  'error_file',
  'disable_logs',
  'log_date_format',
  'time',
  'log_type',
  'merge_logs',
  'max_memory_restart',
  'autorestart',
  'max_restarts',
  'min_uptime',
  'restart_delay',
  'exp_backoff_restart_delay',
  'stop_exit_codes',
  'cron_restart',
  'kill_timeout',
  'kill_signal',
  'listen_timeout',
  'wait_ready',
  'instance_var',
  'increment_var',
  'watch',
  'ignore_watch',
  'watch_delay',
  // Fleet's own.
  'log_max_size',
  'log_retain',
  'log_compress',
  'memory_check_interval',
  'stable_after',
  'health',
  'deploy',
] as const;

export type AppKey = (typeof APP_KEYS)[number];

/** Other spellings PM2 accepts, onto the canonical key. */
export const ALIASES: Readonly<Record<string, AppKey>> = {
  exec: 'script',
  cmd: 'script',
  command: 'script',
  interpreter: 'exec_interpreter',
  interpreter_args: 'node_args',
  out: 'out_file',
  output: 'out_file',
  out_log: 'out_file',
  error: 'error_file',
  err: 'error_file',
  err_file: 'error_file',
  err_log: 'error_file',
  combine_logs: 'merge_logs',
  cron: 'cron_restart',
};

/**
 * PM2 keys Fleet accepts and does not act on. A function returns a warning
 * when ignoring the value changes what the user would see; the rest (PM2.io
 * telemetry, versioning, source maps, namespaces) are dropped silently because
 * they mean nothing outside PM2 and real ecosystem files are full of them.
 */
export const IGNORED_KEYS: Readonly<Record<string, ((value: unknown) => string | undefined) | null>> = {
  log_file: combinedLogNote,
  log: combinedLogNote,
  uid: () => 'Fleet runs apps as the user the agent runs as; run the agent as that user instead',
  gid: () => 'Fleet runs apps with the group the agent runs with',
  user: () => 'Fleet runs apps as the user the agent runs as; run the agent as that user instead',
  shutdown_with_message: (v) =>
    v ? `Fleet stops apps with a signal (kill_signal, default SIGINT), not with an IPC "shutdown" message` : undefined,
  autostart: (v) => (v === false || v === 'false' ? 'Fleet starts every app in the file; start this one separately' : undefined),
  treekill: (v) => (v === false || v === 'false' ? 'Fleet always signals the whole process group of an instance' : undefined),
  watch_options: () => 'Fleet watches with its own settings (watch, ignore_watch, watch_delay)',
  pid_file: null,
  pid: null,
  namespace: null,
  name_prefix: null,
  version: null,
  vizion: null,
  pmx: null,
  automation: null,
  io: null,
  trace: null,
  disable_trace: null,
  v8: null,
  event_loop_inspector: null,
  deep_monitoring: null,
  source_map_support: null,
  disable_source_map_support: null,
  post_update: null,
  install_url: null,
  username: null,
  windowsHide: null,
  kill_retry_time: null,
  write: null,
  force: null,
  execute_command: null,
};

function combinedLogNote(v: unknown): string | undefined {
  // PM2's own default is no combined log, so turning it off needs no warning.
  return v === false || v === null || v === '/dev/null' || v === 'NULL'
    ? undefined
    : 'Fleet writes no combined log file; stdout and stderr go to out_file and error_file';
}

/** Env sections: `env_production`, selected with --env production. */
export const ENV_SECTION_RE = /^env_(\S+)$/;

const CANONICAL = new Set<string>(APP_KEYS);

/** Everything a user may write; the candidates for "did you mean". */
export const KNOWN_KEYS: readonly string[] = [...APP_KEYS, ...Object.keys(ALIASES), ...Object.keys(IGNORED_KEYS)];

export type KeyKind =
  | { kind: 'app'; canonical: AppKey }
  | { kind: 'env'; envName: string }
  | { kind: 'ignored'; canonical: string }
  | { kind: 'unknown'; suggestion?: string };

/** What one written key means: read as given, then as snake_case (maxMemoryRestart, envProduction). */
export function classifyKey(key: string): KeyKind {
  for (const candidate of key === toSnakeCase(key) ? [key] : [key, toSnakeCase(key)]) {
    if (CANONICAL.has(candidate)) return { kind: 'app', canonical: candidate as AppKey };
    const alias = ALIASES[candidate];
    if (alias) return { kind: 'app', canonical: alias };
    if (candidate in IGNORED_KEYS) return { kind: 'ignored', canonical: candidate };
    const env = ENV_SECTION_RE.exec(candidate);
    // Only the literal `env_x` form names a section; the section name keeps the user's spelling.
    if (env && candidate === key) return { kind: 'env', envName: env[1]! };
  }
  return { kind: 'unknown', suggestion: suggestKey(key) };
}

/** The closest known key when it is close enough to be a typo, else undefined. */
export function suggestKey(key: string): string | undefined {
  const snake = toSnakeCase(key);
  const best = closest(snake, KNOWN_KEYS as string[]);
  // A typo changes a few characters; beyond that a suggestion is noise.
  return distance(snake, best) <= Math.max(2, Math.floor(best.length / 3)) ? best : undefined;
}

export function toSnakeCase(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

export interface KeyedValue {
  /** The key as written, for messages. */
  key: string;
  value: unknown;
}

export interface NormalizedApp {
  values: Partial<Record<AppKey, KeyedValue>>;
  /** env_<name> sections by name. */
  envSections: Map<string, KeyedValue>;
  /** Notes about ignored keys and duplicate spellings. */
  notes: string[];
  unknown: { key: string; suggestion?: string }[];
}

/**
 * Sorts an app's keys into canonical values, env sections, ignored and unknown
 * keys. When two spellings of one key are both present, the canonical spelling
 * wins (PM2 resolves aliases the same way), and a note says so.
 */
export function normalizeApp(raw: Record<string, unknown>): NormalizedApp {
  const out: NormalizedApp = { values: {}, envSections: new Map(), notes: [], unknown: [] };
  for (const [key, value] of Object.entries(raw)) {
    const kind = classifyKey(key);
    switch (kind.kind) {
      case 'app': {
        const prev = out.values[kind.canonical];
        if (prev === undefined) {
          out.values[kind.canonical] = { key, value };
        } else {
          const keep = key === kind.canonical ? key : prev.key;
          const drop = keep === key ? prev.key : key;
          out.notes.push(`both "${prev.key}" and "${key}" are set; using "${keep}" and ignoring "${drop}"`);
          if (keep === key) out.values[kind.canonical] = { key, value };
        }
        break;
      }
      case 'env':
        out.envSections.set(kind.envName, { key, value });
        break;
      case 'ignored': {
        const note = IGNORED_KEYS[kind.canonical]?.(value);
        if (note) out.notes.push(`key "${key}" is ignored: ${note}`);
        break;
      }
      case 'unknown':
        out.unknown.push({ key, suggestion: kind.suggestion });
        break;
    }
  }
  return out;
}

/** Reads one canonical key; null and undefined count as unset (PM2 treats them as "use the default"). */
export type ReadKey = (key: AppKey) => KeyedValue | undefined;
