// fleet stop|restart|reload|delete <name|id|all>: one request, one line per app.
import type { Command } from 'commander';
import type { ActionResponse, TargetRequest } from '@fleet/protocol';
import type { FleetApi } from '../client';
import { addHostOptions, whereOf, type HostFlags } from '../host-options';
import type { CommandContext } from '../context';
import { reportResults } from './action-output';

export type LifecycleAction = 'stop' | 'restart' | 'reload' | 'delete';

interface ActionDef {
  verb: string;
  description: string;
  call(api: FleetApi, req: TargetRequest): Promise<ActionResponse>;
}

const ACTIONS: Record<LifecycleAction, ActionDef> = {
  stop: { verb: 'stopped', description: 'stop apps (they stay in the list, stopped)', call: (a, r) => a.stop(r) },
  restart: { verb: 'restarted', description: 'stop and start apps again', call: (a, r) => a.restart(r) },
  reload: {
    verb: 'reloaded',
    description: 'zero-downtime restart: each new instance is ready before the old one stops',
    call: (a, r) => a.reload(r),
  },
  delete: { verb: 'deleted', description: 'stop apps and remove them from the list', call: (a, r) => a.delete(r) },
};

export interface LifecycleFlags extends HostFlags {
  json?: boolean;
}

export async function lifecycle(
  ctx: CommandContext,
  action: LifecycleAction,
  target: string,
  flags: LifecycleFlags,
): Promise<number> {
  const def = ACTIONS[action];
  const where = whereOf(ctx, flags);
  const api = await ctx.connect();
  const res = await def.call(api, { target, where });
  return reportResults(ctx, res.results, def.verb, flags.json === true);
}

export function registerLifecycle(program: Command, ctx: CommandContext): void {
  for (const action of Object.keys(ACTIONS) as LifecycleAction[]) {
    const cmd = addHostOptions(program.command(action))
      .description(ACTIONS[action].description)
      .argument('<name|id|all>', 'app name, app id, or all')
      .option('--json', 'machine output: {results: [...]}')
      .action(async (target: string, flags: LifecycleFlags) => {
        ctx.exitCode = await lifecycle(ctx, action, target, flags);
      });
    if (action === 'delete') cmd.alias('del');
  }
}
