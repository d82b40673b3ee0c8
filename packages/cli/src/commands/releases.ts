// fleet releases <app>: every release, when, who, from which commit, its state,
// and which hosts run it. fleet rollback <app> [--to vN]: an instant deploy of
// a release still on the hosts.
import type { Command } from 'commander';
import { releaseStateWord, RolloutStrategy } from '@fleet/protocol';
import type { CommandContext } from '../context';
import { EXIT_OK } from '../exit-codes';
import { renderTable } from '../format/table';
import { addHostOptions, type HostFlags, whereOf } from '../host-options';
import { UsageError } from '../usage-error';
import { followDeployment } from './deploy';

async function releases(ctx: CommandContext, app: string, flags: { json?: boolean; context?: string }): Promise<number> {
  if (flags.context) ctx.contextName = flags.context;
  const api = await ctx.connect();
  const res = await api.releases({ app });
  if (flags.json) {
    ctx.json(res);
    return EXIT_OK;
  }
  const on = (v: number): string => res.hosts.filter((h) => h.version === v).map((h) => h.host).join(',');
  const rows = [...res.releases].reverse().map((r) => [
    `v${r.version}`,
    releaseStateWord(r.state),
    new Date(r.createdMs).toISOString().replace('T', ' ').slice(0, 19),
    r.createdBy,
    r.gitCommit ? `${r.gitCommit.slice(0, 10)}${r.gitDirty ? ' (dirty)' : ''}` : '-',
    r.digest.slice(0, 12),
    `${(r.sizeBytes / 1024).toFixed(0)} KB`,
    on(r.version),
  ]);
  ctx.out(renderTable([{ header: 'RELEASE' }, { header: 'STATE' }, { header: 'CREATED' }, { header: 'BY' }, { header: 'COMMIT' }, { header: 'DIGEST' }, { header: 'SIZE', align: 'right' }, { header: 'RUNNING ON' }], rows));
  const byHand = res.hosts.filter((h) => h.version === 0).map((h) => h.host);
  if (byHand.length) ctx.out(`started by hand (no release) on: ${byHand.join(', ')}\n`);
  return EXIT_OK;
}

function parseVersion(v: string): number {
  const m = /^v?(\d+)$/.exec(v.trim());
  if (!m || Number(m[1]) < 1) throw new UsageError(`--to ${v} is not a release`, 'e.g. --to v7 (see `fleet releases <app>`)');
  return Number(m[1]);
}

export function registerReleases(program: Command, ctx: CommandContext): void {
  program
    .command('releases')
    .description("an app's releases: when, who, which commit, state, where they run")
    .argument('<app>', 'the app')
    .option('--context <name>', 'the controller to talk to')
    .option('--json', 'machine output')
    .action(async (app: string, flags: { json?: boolean; context?: string }) => {
      ctx.exitCode = await releases(ctx, app, flags);
    });
  addHostOptions(program.command('rollback'))
    .description('switch an app back to an earlier release (still on the hosts: no download, no install)')
    .argument('<app>', 'the app')
    .option('--to <release>', 'the release, e.g. v7 (default: the last good one before the running one)', parseVersion)
    .option('--health-url <url>', 'checked on each host after the switch')
    .option('--detach', 'start it and return')
    .option('--json', 'machine output')
    .action(async (app: string, flags: HostFlags & { to?: number; healthUrl?: string; detach?: boolean; json?: boolean }) => {
      const where = whereOf(ctx, flags);
      const api = await ctx.connect();
      const { deployment } = await api.rollback({ app, toVersion: flags.to ?? 0, where, strategy: flags.healthUrl ? RolloutStrategy.fromPartial({ healthUrl: flags.healthUrl }) : undefined });
      if (flags.detach) {
        if (flags.json) ctx.json({ deployment });
        else ctx.out(`rollback ${deployment!.id} of ${app} to v${deployment!.version} started\n`);
        ctx.exitCode = EXIT_OK;
        return;
      }
      ctx.exitCode = await followDeployment(ctx, deployment!, flags.json === true);
    });
}
