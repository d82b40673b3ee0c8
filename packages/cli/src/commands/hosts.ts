// fleet hosts: every host the controller knows, ready or not.
import type { Command } from 'commander';
import { HostInfo, HostStatus, hostStatusWord } from '@fleet/protocol';
import type { CommandContext } from '../context';
import { EXIT_OK } from '../exit-codes';
import { formatBytes } from '../format/bytes';
import type { Colors } from '../format/color';
import { formatDuration } from '../format/duration';
import { renderTable } from '../format/table';
import { addHostOptions, whereOf, type HostFlags } from '../host-options';

export interface HostsFlags extends HostFlags {
  json?: boolean;
}

function colorHostStatus(s: HostStatus, colors: Colors): string {
  const word = hostStatusWord(s);
  if (s === HostStatus.HOST_STATUS_READY) return colors.green(word);
  if (s === HostStatus.HOST_STATUS_DISCONNECTED) return colors.yellow(word);
  return colors.red(word);
}

export function hostJson(h: HostInfo, now: number): Record<string, unknown> {
  return { ...(HostInfo.toJSON(h) as Record<string, unknown>), status: hostStatusWord(h.status), lastSeenAgoMs: h.lastSeenMs ? now - h.lastSeenMs : null };
}

export function renderHosts(hosts: HostInfo[], colors: Colors, now: number): string {
  if (hosts.length === 0) return 'no hosts yet; on each server run: fleet agent --controller <address> --name <host> --token-file <file>\n';
  const labels = (h: HostInfo): string =>
    Object.entries(h.labels)
      .map(([k, v]) => `${k}=${v}`)
      .join(',') || '-';
  let text = renderTable(
    ['name', 'status', 'labels', 'agent', 'load', 'mem free', 'apps', 'procs', 'last seen'].map((h, i) => ({
      header: colors.bold(h),
      align: i === 4 || i === 6 || i === 7 ? ('right' as const) : undefined,
    })),
    hosts.map((h) => [
      colors.cyan(h.name),
      colorHostStatus(h.status, colors),
      labels(h),
      h.agentVersion || '-',
      h.status === HostStatus.HOST_STATUS_READY ? h.load1.toFixed(2) : '-',
      h.memoryTotalBytes ? `${formatBytes(h.memoryFreeBytes)}/${formatBytes(h.memoryTotalBytes)}` : '-',
      String(h.apps),
      String(h.instances),
      h.lastSeenMs ? `${formatDuration(Math.max(0, now - h.lastSeenMs))} ago` : '-',
    ]),
  );
  for (const h of hosts) if (h.problem) text += `${colors.yellow('!')} ${h.name}: ${h.problem}\n`;
  return text;
}

export async function hosts(ctx: CommandContext, flags: HostsFlags, now: () => number = Date.now): Promise<number> {
  const where = whereOf(ctx, flags);
  const api = await ctx.connect();
  const res = await api.hosts({ where });
  if (flags.json) ctx.json(res.hosts.map((h) => hostJson(h, now())));
  else ctx.out(renderHosts(res.hosts, ctx.colors, now()));
  return EXIT_OK;
}

export function registerHosts(program: Command, ctx: CommandContext): void {
  const cmd = addHostOptions(program.command('hosts'))
    .description('list the hosts: status, labels, agent version, load, memory, apps, last seen')
    .option('--json', 'one JSON object per host')
    .action(async (flags: HostsFlags) => {
      ctx.exitCode = await hosts(ctx, flags);
    });
  cmd
    .command('rm')
    .description('forget a host that is gone for good (its agent stopped)')
    .argument('<name>')
    .option('--context <name>', 'the controller to talk to')
    .option('--json', 'machine output: the forgotten host')
    .action(async (name: string, flags: HostsFlags) => {
      if (flags.context) ctx.contextName = flags.context;
      const api = await ctx.connect();
      const res = await api.forgetHost({ name });
      if (flags.json) ctx.json(res.hosts.map((h) => hostJson(h, Date.now())));
      else ctx.out(`forgot host ${name}\n`);
      ctx.exitCode = EXIT_OK;
    });
}
