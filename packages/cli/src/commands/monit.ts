// fleet monit: a live screen of every host and process (CPU, memory, restarts,
// lag, heap), the selected app's own metrics and its last log lines; q quits.
// A terminal only: without one it refuses (exit 2) and names `fleet ls` and
// `fleet hosts`, which print the same data once, --json included.
import { type Command, InvalidArgumentError } from 'commander';
import type { CommandContext } from '../context';
import { addHostOptions, type HostFlags, whereOf } from '../host-options';
import type { TtyOutput } from '../monit/tty-screen';
import { UsageError } from '../usage-error';

export interface MonitFlags extends HostFlags {
  /** Milliseconds between refreshes. @default 1000 */
  interval?: number;
}

export const DEFAULT_INTERVAL_MS = 1000;
const MIN_INTERVAL_MS = 100;
const MAX_INTERVAL_MS = 60 * 60_000;

// Loaded on first use: the screen is no business of `fleet ls` and the other commands.
/* eslint-disable @typescript-eslint/no-require-imports */
const loop = (): typeof import('../monit/monit-loop') => require('../monit/monit-loop') as typeof import('../monit/monit-loop');
const tty = (): typeof import('../monit/tty-screen') => require('../monit/tty-screen') as typeof import('../monit/tty-screen');
/* eslint-enable @typescript-eslint/no-require-imports */

/** --interval: milliseconds (500) or with a unit (500ms, 2s, 1m), from 100ms to 1h. */
export function parseInterval(value: string): number {
  const m = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m)?$/i.exec(value.trim());
  if (!m) throw new InvalidArgumentError('use milliseconds (500) or a duration with a unit (500ms, 2s, 1m).');
  const ms = Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[(m[2] ?? 'ms').toLowerCase() as 'ms' | 's' | 'm']);
  if (ms < MIN_INTERVAL_MS || ms > MAX_INTERVAL_MS) throw new InvalidArgumentError('use a refresh interval from 100ms to 1h.');
  return ms;
}

export async function monit(ctx: CommandContext, flags: MonitFlags): Promise<number> {
  const where = whereOf(ctx, flags);
  if (ctx.stdout.isTTY !== true) {
    throw new UsageError('fleet monit draws a live screen and needs a terminal, but stdout is not one', 'for the same data printed once, run `fleet ls` and `fleet hosts` (add --json for scripts)');
  }
  const api = await ctx.connect();
  return loop().runMonit({
    api,
    where,
    intervalMs: flags.interval ?? DEFAULT_INTERVAL_MS,
    colors: ctx.colors,
    title: ctx.controllerTarget()?.name ?? 'local',
    openScreen: () => tty().openTtyScreen(ctx.stdout as TtyOutput, process.stdin, process),
    onStop: (stop) => {
      // Ctrl-C arrives as a key in raw mode; SIGINT still comes from `kill -INT` or when stdin is not a terminal.
      const offInterrupt = ctx.onInterrupt(stop);
      // A closed ssh session (SIGHUP) or a service manager (SIGTERM): the terminal is restored all the same.
      process.on('SIGTERM', stop);
      process.on('SIGHUP', stop);
      return () => {
        offInterrupt();
        process.off('SIGTERM', stop);
        process.off('SIGHUP', stop);
      };
    },
  });
}

export function registerMonit(program: Command, ctx: CommandContext): void {
  addHostOptions(program.command('monit'))
    .description('live screen of every host and process: CPU, memory, lag, heap, app metrics, logs (q quits)')
    .option('--interval <duration>', 'time between refreshes, e.g. 500ms or 2s (default: 1s)', parseInterval)
    .action(async (flags: MonitFlags) => {
      ctx.exitCode = await monit(ctx, flags);
    });
}
