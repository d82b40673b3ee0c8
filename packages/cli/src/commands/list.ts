// fleet ls: one row per instance.
import type { Command } from 'commander';
import { addHostOptions, whereOf, type HostFlags } from '../host-options';
import type { CommandContext } from '../context';
import { EXIT_OK } from '../exit-codes';
import { processRows, renderProcessTable } from '../format/process-rows';

export interface ListFlags extends HostFlags {
  json?: boolean;
}

export async function list(ctx: CommandContext, flags: ListFlags): Promise<number> {
  const where = whereOf(ctx, flags);
  const { apps } = await ctx.query((api) => api.list({ fresh: false, summary: true, where }));
  const rows = processRows(apps);
  if (flags.json) ctx.json(rows);
  else ctx.out(renderProcessTable(rows, ctx.colors, { showHost: ctx.remote }));
  return EXIT_OK;
}

export function registerList(program: Command, ctx: CommandContext): void {
  addHostOptions(program.command('ls'))
    .alias('list')
    .description('list apps and their instances')
    .option('--json', 'one JSON object per instance')
    .action(async (flags: ListFlags) => {
      ctx.exitCode = await list(ctx, flags);
    });
}
