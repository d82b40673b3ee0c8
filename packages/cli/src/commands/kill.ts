// fleet kill: stop every app and the daemon. Waits until the daemon no longer
// answers, so `fleet kill && fleet start ...` never talks to the dying one.
import type { Command } from 'commander';
import { status } from '@grpc/grpc-js';
import { BadInputError, FleetError, UnavailableError } from '@fleet/protocol';
import type { FleetApi } from '../client';
import type { CommandContext } from '../context';
import { EXIT_OK } from '../exit-codes';

const GONE_TIMEOUT_MS = 10_000;
const GONE_POLL_MS = 50;

export interface KillFlags {
  json?: boolean;
}

export async function kill(ctx: CommandContext, flags: KillFlags): Promise<number> {
  const target = ctx.controllerTarget();
  if (target) {
    // Never a fleet-wide kill by habit: this command is about one machine's daemon.
    throw new BadInputError(`fleet kill stops this machine's daemon and its apps, but commands go to controller ${target.name}`, {
      hint: 'on this machine: FLEET_CONTEXT=local fleet kill; across hosts: fleet stop all --hosts web1,web2',
    });
  }
  const conn = await ctx.connectIfRunning();
  if (!conn) {
    if (flags.json) ctx.json({ killed: false, pid: 0, stoppedApps: 0 });
    else ctx.out('no daemon running\n');
    return EXIT_OK;
  }
  let stoppedApps = 0;
  try {
    stoppedApps = (await conn.api.kill()).stoppedApps;
  } catch (err) {
    // The daemon may exit before its answer is out: that is what was asked.
    if (!isConnectionLoss(err)) throw err;
  }
  await waitGone(conn.api, conn.pong.pid);
  if (flags.json) ctx.json({ killed: true, pid: conn.pong.pid, stoppedApps });
  else ctx.out(`daemon stopped (pid ${conn.pong.pid}), ${stoppedApps} app${stoppedApps === 1 ? '' : 's'} stopped\n`);
  return EXIT_OK;
}

async function waitGone(api: FleetApi, pid: number): Promise<void> {
  const deadline = Date.now() + GONE_TIMEOUT_MS;
  while (Date.now() < deadline) {
    try {
      await api.ping(GONE_POLL_MS * 10);
    } catch (err) {
      if (isConnectionLoss(err)) return;
      throw err;
    }
    await new Promise((r) => setTimeout(r, GONE_POLL_MS));
  }
  throw new UnavailableError(`the daemon (pid ${pid}) still answers ${GONE_TIMEOUT_MS / 1000} s after being told to stop`, {
    hint: `look at its log, or end it with: kill ${pid}`,
  });
}

/** The peer went away: unreachable, or it cancelled our call while shutting down. */
function isConnectionLoss(err: unknown): boolean {
  if (err instanceof UnavailableError) return true;
  const cause = err instanceof FleetError ? (err.cause as { code?: unknown } | undefined) : undefined;
  return cause?.code === status.CANCELLED;
}

export function registerKill(program: Command, ctx: CommandContext): void {
  program
    .command('kill')
    .description('stop every app and the daemon')
    .option('--json', 'machine output: {killed, pid, stoppedApps}')
    .action(async (flags: KillFlags) => {
      ctx.exitCode = await kill(ctx, flags);
    });
}
