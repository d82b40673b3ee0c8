// fleet ping: is the daemon there, and which one. Never starts a daemon: a
// health check that starts what it checks proves nothing.
import type { Command } from 'commander';
import { fleetPaths, UnavailableError } from '@fleet/protocol';
import type { CommandContext } from '../context';
import { EXIT_OK } from '../exit-codes';
import { formatDuration } from '../format/duration';

export interface PingFlags {
  context?: string;
  json?: boolean;
}

export async function ping(ctx: CommandContext, flags: PingFlags, now: () => number = Date.now): Promise<number> {
  if (flags.context) ctx.contextName = flags.context;
  const conn = ctx.controllerTarget() ? { pong: await (await ctx.connect()).ping() } : await ctx.connectIfRunning();
  if (!conn) {
    throw new UnavailableError(`no daemon running on ${fleetPaths(ctx.home).socket}`, {
      hint: 'any command starts it (fleet ls), or run it in the foreground with: fleet agent',
    });
  }
  const p = conn.pong;
  if (flags.json) {
    ctx.json({ pid: p.pid, version: p.version, home: p.home, startedMs: p.startedMs, host: p.host, mode: p.mode, role: p.role });
  } else {
    const up = p.startedMs ? `, up ${formatDuration(now() - p.startedMs)}` : '';
    ctx.out(`pong: fleet ${p.version} ${p.mode || 'local'}, pid ${p.pid}, home ${p.home}${p.host ? `, host ${p.host}` : ''}${up}${p.mode === 'controller' ? `, as ${p.role}` : ''}\n`);
  }
  return EXIT_OK;
}

export function registerPing(program: Command, ctx: CommandContext): void {
  program
    .command('ping')
    .description('check that the daemon answers (does not start it)')
    .option('--context <name>', 'ping this controller instead of the local daemon')
    .option('--json', 'machine output: {pid, version, home, startedMs, host, mode, role}')
    .action(async (flags: PingFlags) => {
      ctx.exitCode = await ping(ctx, flags);
    });
}
