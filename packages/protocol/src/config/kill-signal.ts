// kill_signal must be a signal this platform knows, or the stop would fail
// only when someone needs it to work.
import * as os from 'node:os';
import { ConfigError } from './config-error';

/** "SIGTERM", "sigterm" or "TERM" → "SIGTERM". */
export function parseKillSignal(v: unknown, key: string): string {
  const raw = typeof v === 'string' ? v.trim().toUpperCase() : '';
  const name = raw.startsWith('SIG') ? raw : `SIG${raw}`;
  if (raw !== '' && Object.prototype.hasOwnProperty.call(os.constants.signals, name)) return name;
  throw new ConfigError(`${key} ${JSON.stringify(v)} is not a signal name`, {
    key,
    hint: `use a signal name such as "SIGINT", "SIGTERM" or "SIGQUIT"`,
  });
}
