// Restart-on-change. Paths stay relative to the app's cwd, as the runner
// watches from there; node_modules and .git are never watched.
import type { WatchSpec } from '../gen/fleet/v1/app';
import { readBoolean, readStringList } from './coerce';
import { DEFAULTS } from './defaults';
import type { ReadKey } from './pm2-keys';
import { parseDuration } from './units';

export function buildWatchSpec(get: ReadKey): WatchSpec {
  const watch = get('watch');
  let enabled = false;
  let paths: string[] = [];
  if (watch) {
    const v = watch.value;
    if (typeof v === 'boolean' || (typeof v === 'string' && /^(true|false)$/i.test(v.trim())) || typeof v === 'number') {
      enabled = readBoolean(v, watch.key);
    } else {
      paths = readStringList(v, watch.key).filter((p) => p.trim() !== '');
      // An empty list watches nothing rather than everything: no surprise restarts.
      enabled = paths.length > 0;
    }
  }
  const ignoreEntry = get('ignore_watch');
  const ignore = ignoreEntry ? readStringList(ignoreEntry.value, ignoreEntry.key) : [];
  const delay = get('watch_delay');
  return {
    enabled,
    paths,
    ignore: [...new Set([...DEFAULTS.watchAlwaysIgnore, ...ignore])],
    debounceMs: delay ? parseDuration(delay.value, delay.key) : DEFAULTS.watchDebounceMs,
  };
}
