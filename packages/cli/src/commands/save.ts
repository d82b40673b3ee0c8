// fleet save: write the app list for `fleet resurrect`.
import type { Command } from 'commander';
import { addHostOptions, whereOf, type HostFlags } from '../host-options';
import { reportResults } from './action-output';
import type { CommandContext } from '../context';
import { EXIT_OK } from '../exit-codes';

export interface SaveFlags extends HostFlags {
  json?: boolean;
}

export async function save(ctx: CommandContext, flags: SaveFlags): Promise<number> {
  const where = whereOf(ctx, flags);
  const api = await ctx.connect();
  const res = await api.save({ where });
  // Through a controller: one result per host.
  if (res.results.length > 0) return reportResults(ctx, res.results, 'saved', flags.json === true);
  if (flags.json) ctx.json({ path: res.path, apps: res.apps });
  else ctx.out(`saved ${res.apps} app${res.apps === 1 ? '' : 's'} to ${res.path}\n`);
  return EXIT_OK;
}

export function registerSave(program: Command, ctx: CommandContext): void {
  addHostOptions(program.command('save'))
    .alias('dump')
    .description('save the app list, to be brought back by fleet resurrect')
    .option('--json', 'machine output: {path, apps}')
    .action(async (flags: SaveFlags) => {
      ctx.exitCode = await save(ctx, flags);
    });
}
