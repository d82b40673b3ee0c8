// fleet scale <app> <N|+N|-N>.
import type { Command } from 'commander';
import { addHostOptions, whereOf, type HostFlags } from '../host-options';
import type { CommandContext } from '../context';
import { isScaleCount } from '../flag-parsers';
import { UsageError } from '../usage-error';
import { reportResults } from './action-output';

export interface ScaleFlags extends HostFlags {
  json?: boolean;
}

export async function scale(ctx: CommandContext, target: string, count: string, flags: ScaleFlags): Promise<number> {
  if (!isScaleCount(count)) {
    throw new UsageError(`invalid instance count '${count}'`, 'use a number to set it (4), or +N / -N to change it (+2, -1)');
  }
  const where = whereOf(ctx, flags);
  const api = await ctx.connect();
  const res = await api.scale({ target, count: count.trim(), where });
  return reportResults(ctx, res.results, 'scaled', flags.json === true);
}

export function registerScale(program: Command, ctx: CommandContext): void {
  addHostOptions(program.command('scale'))
    .description('set or change the number of instances of an app')
    .argument('<app>', 'app name or id')
    .argument('<count>', 'N sets the count, +N / -N change it')
    .option('--json', 'machine output: {results: [...]}')
    .action(async (target: string, count: string, flags: ScaleFlags) => {
      ctx.exitCode = await scale(ctx, target, count, flags);
    });
}
