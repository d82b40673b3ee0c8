// fleet resurrect: bring back the apps of the last `fleet save`, stopped ones stopped.
import type { Command } from 'commander';
import { addHostOptions, whereOf, type HostFlags } from '../host-options';
import type { CommandContext } from '../context';
import { reportResults } from './action-output';

export interface ResurrectFlags extends HostFlags {
  json?: boolean;
}

export async function resurrect(ctx: CommandContext, flags: ResurrectFlags): Promise<number> {
  const where = whereOf(ctx, flags);
  const api = await ctx.connect();
  const res = await api.resurrect({ where });
  return reportResults(ctx, res.results, 'resurrected', flags.json === true);
}

export function registerResurrect(program: Command, ctx: CommandContext): void {
  addHostOptions(program.command('resurrect'))
    .description('bring back the apps saved by fleet save')
    .option('--json', 'machine output: {results: [...]}')
    .action(async (flags: ResurrectFlags) => {
      ctx.exitCode = await resurrect(ctx, flags);
    });
}
