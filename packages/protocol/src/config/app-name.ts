// App names are command targets (`fleet restart api`), so the two words that
// already mean something there are refused: "all" and a bare number (an id).
import * as path from 'node:path';
import { ConfigError } from './config-error';

/** PM2's rule: the script's file name without its last extension (app.js → app). */
export function deriveName(script: string): string {
  const base = path.basename(script);
  const dot = base.lastIndexOf('.');
  return dot > 0 ? base.slice(0, dot) : base;
}

export function validateName(name: string, key: string, derived: boolean): void {
  const how = derived ? `the name derived from the script, "${name}",` : `name "${name}"`;
  const hint = derived ? 'set name to something else, e.g. name: "api"' : 'choose another name, e.g. "api" or "worker-1"';
  if (name.trim() === '') throw new ConfigError(`${key} must not be empty`, { key, hint });
  if (name.toLowerCase() === 'all') {
    throw new ConfigError(`${how} is reserved: "all" targets every app in commands`, { key, hint });
  }
  if (/^\d+$/.test(name)) {
    throw new ConfigError(`${how} is a number, which commands read as an app id`, { key, hint });
  }
}
