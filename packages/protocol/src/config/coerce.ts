// Plain values as PM2 accepts them: YAML, JSON and CLI flags turn numbers and
// booleans into strings ("4", "false"), so each reader takes both forms and
// says which key was wrong when neither fits.
import { ConfigError } from './config-error';
import { splitArgs } from './split-args';

export function readInteger(v: unknown, key: string, min = 0): number {
  const n = typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v;
  if (typeof n === 'number' && Number.isInteger(n) && n >= min) return n;
  throw new ConfigError(`${key} must be a whole number${min === 0 ? ' (0 or more)' : ` of at least ${min}`}, got ${JSON.stringify(v)}`, {
    key,
    hint: `write ${key} as a number, e.g. ${key}: ${Math.max(min, 3)}`,
  });
}

export function readBoolean(v: unknown, key: string): boolean {
  if (typeof v === 'boolean') return v;
  if (v === 1 || v === 0) return v === 1;
  if (typeof v === 'string') {
    const s = v.trim().toLowerCase();
    if (s === 'true' || s === 'yes') return true;
    if (s === 'false' || s === 'no') return false;
  }
  throw new ConfigError(`${key} must be true or false, got ${JSON.stringify(v)}`, { key, hint: `write ${key}: true or ${key}: false` });
}

export function readString(v: unknown, key: string): string {
  if (typeof v === 'string') return v;
  if (typeof v === 'number') return String(v);
  throw new ConfigError(`${key} must be a string, got ${describe(v)}`, { key, hint: `quote the value of ${key}` });
}

/** A string or an array of strings (watch paths, ignore_watch). */
export function readStringList(v: unknown, key: string): string[] {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v)) return v.map((item) => readString(item, key));
  throw new ConfigError(`${key} must be a string or an array of strings, got ${describe(v)}`, {
    key,
    hint: `e.g. ${key}: "src" or ${key}: ["src", "lib"]`,
  });
}

/** args and node_args: an array taken as is, or a string split like a shell would. */
export function readArgs(v: unknown, key: string): string[] {
  if (v === null || v === undefined) return [];
  if (typeof v === 'string') return splitArgs(v, key);
  if (Array.isArray(v)) {
    return v.map((item) => {
      if (typeof item === 'string' || typeof item === 'number' || typeof item === 'boolean') return String(item);
      throw new ConfigError(`${key} must hold strings, got ${describe(item)}`, { key, hint: `e.g. ${key}: ["--port", "3000"]` });
    });
  }
  throw new ConfigError(`${key} must be a string or an array of strings, got ${describe(v)}`, {
    key,
    hint: `e.g. ${key}: "--port 3000" or ${key}: ["--port", "3000"]`,
  });
}

export function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (typeof v === 'object') return 'an object';
  return `${typeof v} ${JSON.stringify(v)}`;
}
