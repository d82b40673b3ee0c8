// fleet save: write the app list for `fleet resurrect`.
import type { Command } from 'commander';
import type { CommandContext } from '../context';
import { EXIT_OK } from '../exit-codes';

export interface SaveFlags {
  json?: boolean;
}

export async function save(ctx: CommandContext, flags: SaveFlags): Promise<number> {
  const api = await ctx.connect();
  const res = await api.save();
  if (flags.json) ctx.json({ path: res.path, apps: res.apps });
  else ctx.out(`saved ${res.apps} app${res.apps === 1 ? '' : 's'} to ${res.path}\n`);
  return EXIT_OK;
}

export function registerSave(program: Command, ctx: CommandContext): void {
  program
    .command('save')
    .alias('dump')
    .description('save the app list, to be brought back by fleet resurrect')
    .option('--json', 'machine output: {path, apps}')
    .action(async (flags: SaveFlags) => {
      ctx.exitCode = await save(ctx, flags);
    });
}
