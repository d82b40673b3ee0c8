// fleet flush [app]: empty the log files (of every app when none is named).
import type { Command } from 'commander';
import { addHostOptions, whereOf, type HostFlags } from '../host-options';
import type { CommandContext } from '../context';
import { reportResults } from './action-output';

export interface FlushFlags extends HostFlags {
  json?: boolean;
}

export async function flush(ctx: CommandContext, target: string | undefined, flags: FlushFlags): Promise<number> {
  const where = whereOf(ctx, flags);
  const api = await ctx.connect();
  const res = await api.flush({ target: target ?? 'all', where });
  return reportResults(ctx, res.results, 'logs flushed', flags.json === true);
}

export function registerFlush(program: Command, ctx: CommandContext): void {
  addHostOptions(program.command('flush'))
    .description('empty the log files of an app, or of all apps')
    .argument('[app]', 'app name or id (default: all)')
    .option('--json', 'machine output: {results: [...]}')
    .action(async (target: string | undefined, flags: FlushFlags) => {
      ctx.exitCode = await flush(ctx, target, flags);
    });
}
