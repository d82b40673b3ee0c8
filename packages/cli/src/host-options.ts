// --hosts, --selector and --context: where a command goes. Shared by every
// command that acts on apps, so they all read the same way.
import { type Command } from 'commander';
import { FleetError, type HostSelector, selectorOf } from '@fleet/protocol';
import type { CommandContext } from './context';
import { UsageError } from './usage-error';

export interface HostFlags {
  hosts?: string;
  selector?: string;
  context?: string;
}

export function addHostOptions(cmd: Command): Command {
  return cmd
    .option('--hosts <names>', 'only these hosts, comma-separated (e.g. web1,web2)')
    .option('--selector <labels>', 'only hosts with these labels (e.g. role=web,zone=a)')
    .option('--context <name>', 'the controller to talk to (see `fleet context ls`; "local" for this machine)');
}

/** Applies --context and returns the selector; a malformed selector is bad usage (exit 2). */
export function whereOf(ctx: CommandContext, flags: HostFlags): HostSelector | undefined {
  if (flags.context) ctx.contextName = flags.context;
  try {
    return selectorOf(flags.hosts, flags.selector);
  } catch (err) {
    if (err instanceof FleetError) throw new UsageError(err.message, err.hint);
    throw err;
  }
}
