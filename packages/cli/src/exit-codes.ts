// The exit codes scripts can rely on, and the one mapping from an error to one.
//   0  ok
//   1  failed: the daemon or the config said no, or any app of the command failed
//   2  bad usage: unknown command or option, missing argument, invalid flag value
import { CommanderError } from 'commander';
import { asFleetError } from '@fleet/protocol';
import { UsageError } from './usage-error';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;

export interface ErrorReport {
  code: number;
  /** What to print on stderr; empty when commander already printed it. */
  text: string;
}

export function reportError(err: unknown): ErrorReport {
  if (err instanceof CommanderError) {
    // --help and --version end with exitCode 0; every other commander error is usage.
    return { code: err.exitCode === 0 ? EXIT_OK : EXIT_USAGE, text: '' };
  }
  if (err instanceof UsageError) return { code: EXIT_USAGE, text: errorText(err.message, err.hint) };
  const fleetError = asFleetError(err);
  if (fleetError) {
    // A config file that does not compile is a failed command (1), not bad usage:
    // the command line was right, the file it names is wrong.
    return { code: EXIT_FAILED, text: errorText(fleetError.message, fleetError.hint) };
  }
  const message = err instanceof Error ? err.message : String(err);
  return { code: EXIT_FAILED, text: errorText(message) };
}

export function errorText(message: string, hint?: string): string {
  return `error: ${message}\n${hint ? `  fix: ${hint}\n` : ''}`;
}
