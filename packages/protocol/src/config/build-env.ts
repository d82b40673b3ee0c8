// An app's environment, lowest priority first: the shell's (only with
// --update-env, filtered by filter_env), `env`, `env_<name>` for --env <name>,
// then `port` as PORT (as PM2 layers them). PM2 also folds in
// `deploy.<name>.env`; Fleet does not, so a deploy section never changes an app.
import { ConfigError } from './config-error';
import { describe, isPlainObject, readStringList } from './coerce';
import type { KeyedValue } from './pm2-keys';

export interface BuildEnvInput {
  env?: KeyedValue;
  /** The selected env_<name> section, when --env names one the app has. */
  envSection?: KeyedValue;
  shellEnv?: Record<string, string | undefined>;
  filterEnv?: KeyedValue;
  port?: string;
}

export function buildEnv(input: BuildEnvInput): Record<string, string> {
  const env: Record<string, string> = {};
  if (input.shellEnv) Object.assign(env, filterShellEnv(stringifyEnv(input.shellEnv), input.filterEnv));
  if (input.env) Object.assign(env, readEnvObject(input.env));
  if (input.envSection) Object.assign(env, readEnvObject(input.envSection));
  if (input.port !== undefined) env.PORT = input.port;
  return env;
}

function readEnvObject({ key, value }: KeyedValue): Record<string, string> {
  if (value === undefined || value === null) return {};
  if (!isPlainObject(value)) {
    throw new ConfigError(`${key} must be an object of variables, got ${describe(value)}`, {
      key,
      hint: `e.g. ${key}: { NODE_ENV: "production", PORT: 3000 }`,
    });
  }
  return stringifyEnv(value);
}

/**
 * Every value becomes a string: numbers and booleans as written, objects as
 * JSON (PM2 does the same); null and undefined leave the variable out.
 */
function stringifyEnv(vars: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, v] of Object.entries(vars)) {
    if (v === undefined || v === null) continue;
    out[name] = typeof v === 'object' ? JSON.stringify(v) : String(v);
  }
  return out;
}

/**
 * PM2's filter_env: true drops the whole shell environment; a string or list
 * drops the variables whose names contain any of the given strings.
 */
function filterShellEnv(env: Record<string, string>, filter?: KeyedValue): Record<string, string> {
  if (filter === undefined || filter.value === false || filter.value === null) return env;
  if (filter.value === true) return {};
  const parts = readStringList(filter.value, filter.key);
  return Object.fromEntries(Object.entries(env).filter(([name]) => !parts.some((p) => name.includes(p))));
}
