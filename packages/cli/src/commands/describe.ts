// fleet describe <app>: the compiled spec, then each instance (with event-loop
// lag and heap as a Node instance reports them) and its recent events, then the
// app's own metrics (@fleet/probe) summed across its instances. Env values are
// masked in both outputs: describe output gets pasted into tickets and chat.
import type { Command } from 'commander';
import type { AppInfo, AppMetric, InstanceInfo } from '@fleet/protocol';
import { addHostOptions, whereOf, type HostFlags } from '../host-options';
import type { CommandContext } from '../context';
import { EXIT_OK } from '../exit-codes';
import { renderFields, specFields } from '../format/app-spec';
import { formatBytes } from '../format/bytes';
import type { Colors } from '../format/color';
import { formatDuration } from '../format/duration';
import { maskEnv } from '../format/env';
import { formatPercent } from '../format/percent';
import { specJson } from '../format/spec-json';
import { colorStatus, instanceExecMode, statusWord } from '../format/status';
import { renderTable } from '../format/table';
import { formatMetricValue, metricKindWord } from '../format/metric-value';

/** Events shown per instance in human output; --json gives all the daemon keeps. */
const RECENT_EVENTS = 10;

export interface DescribeFlags extends HostFlags {
  json?: boolean;
}

/** An app metric in --json: every field, kind as a word (counter, gauge, meter, histogram). */
function metricJson(m: AppMetric): Record<string, unknown> {
  return { name: m.name, kind: metricKindWord(m.kind), help: m.help, value: m.value, count: m.count, sum: m.sum, bounds: m.bounds, buckets: m.buckets };
}

export function describeJson(app: AppInfo): Record<string, unknown> {
  const spec = app.spec ? specJson({ ...app.spec, env: maskEnv(app.spec.env) }) : null;
  return {
    appId: app.appId,
    name: app.spec?.name ?? '',
    host: app.host,
    hostEnv: maskEnv(app.hostEnv),
    desired: app.desired,
    reloading: app.reloading,
    runnerPid: app.runnerPid,
    runnerVersion: app.runnerVersion,
    spec,
    instances: app.instances.map((i) => ({
      instance: i.instance,
      pid: i.pid,
      status: statusWord(i.status),
      cpuPercent: i.cpuPercent,
      memoryBytes: i.memoryBytes,
      restarts: i.restarts,
      unstableRestarts: i.unstableRestarts,
      uptimeMs: i.uptimeMs,
      execMode: instanceExecMode(i.execMode, app.spec?.execMode),
      createdMs: i.createdMs,
      startedMs: i.startedMs,
      lastExitCode: i.lastExitCode,
      lastExitSignal: i.lastExitSignal,
      host: i.host,
      // Reported by a Node instance itself every few seconds; 0 before its first report or when not Node.
      eventLoopLagMs: i.eventLoopLagMs,
      heapUsedBytes: i.heapUsedBytes,
      heapTotalBytes: i.heapTotalBytes,
      metrics: (i.metrics ?? []).map(metricJson),
      events: i.events.map((e) => ({ timeMs: e.timeMs, from: statusWord(e.from), to: statusWord(e.to), reason: e.reason })),
    })),
    // The app's own metrics summed across its instances (counters, meters and gauges add up, histograms merge).
    metrics: (app.metrics ?? []).map(metricJson),
  };
}

export function renderDescribe(app: AppInfo, colors: Colors): string {
  const name = app.spec?.name ?? `#${app.appId}`;
  let text = `${colors.bold(colors.cyan(name))} (id ${app.appId})\n`;
  const state: Array<[string, string]> = [];
  if (app.host) state.push(['host', app.host]);
  state.push(['desired', app.desired || '-']);
  if (app.reloading) state.push(['reloading', 'yes']);
  state.push(['runner', app.runnerPid ? `pid ${app.runnerPid}${app.runnerVersion ? `, v${app.runnerVersion}` : ''}` : '-']);
  if (app.spec) state.push(...specFields(app.spec, { showEnvValues: false }));
  // `fleet agent --env`: set over the app's own env on that host (values masked like env).
  const hostEnv = Object.keys(app.hostEnv ?? {}).sort();
  if (hostEnv.length > 0) state.push(['host env', hostEnv.map((k) => `${k}=****`).join(' ')]);
  text += renderFields(state, colors, '  ');

  const instances = [...app.instances].sort((a, b) => a.instance - b.instance);
  if (instances.length === 0) return text + '\n  no instances\n';
  // Lag and heap come from inside Node instances; a python or binary app has none to show.
  const vitals = instances.some((i) => i.heapTotalBytes > 0);
  const headers = ['#', 'pid', 'status', 'restarts', 'uptime', 'cpu', 'mem', ...(vitals ? ['lag', 'heap'] : []), 'last exit'];
  text += '\n' + indent(renderTable(
    headers.map((header) => ({
      header: colors.bold(header),
      align: header === 'status' || header === 'last exit' ? ('left' as const) : ('right' as const),
    })),
    instances.map((i) => [
      String(i.instance),
      i.pid > 0 ? String(i.pid) : '-',
      colorStatus(statusWord(i.status), colors),
      i.unstableRestarts ? `${i.restarts} (${i.unstableRestarts} unstable)` : String(i.restarts),
      statusWord(i.status) === 'online' ? formatDuration(i.uptimeMs) : '-',
      i.pid > 0 ? formatPercent(i.cpuPercent) : '-',
      i.pid > 0 ? formatBytes(i.memoryBytes) : '-',
      ...(vitals ? vitalsCells(i) : []),
      lastExit(i),
    ]),
  ));
  const metrics = app.metrics ?? [];
  if (metrics.length > 0) {
    text += `\n  ${colors.bold('metrics')} ${colors.gray('(all instances; per instance: --json)')}\n`;
    text += indent(renderTable(
      ['name', 'kind', 'value', 'help'].map((header) => ({ header: colors.bold(header) })),
      metrics.map((m) => [m.name, metricKindWord(m.kind), formatMetricValue(m), m.help]),
    ));
  }
  const events = instances.flatMap((i) => i.events.slice(-RECENT_EVENTS).map((e) => ({ i, e })));
  if (events.length > 0) {
    text += `\n  ${colors.bold('recent events')}\n`;
    for (const { i, e } of events.sort((a, b) => a.e.timeMs - b.e.timeMs)) {
      const when = new Date(e.timeMs).toISOString().replace('T', ' ').replace('Z', '');
      text += `  ${colors.gray(when)}  #${i.instance}  ${statusWord(e.from)} -> ${statusWord(e.to)}${e.reason ? `  ${e.reason}` : ''}\n`;
    }
  }
  return text;
}

/** Lag and heap cells; '-' until the instance's first report (or when it is not running). */
function vitalsCells(i: InstanceInfo): [string, string] {
  if (i.pid <= 0 || i.heapTotalBytes <= 0) return ['-', '-'];
  return [formatLag(i.eventLoopLagMs), `${formatBytes(i.heapUsedBytes)}/${formatBytes(i.heapTotalBytes)}`];
}

/** Event-loop lag: 0.3ms, 12ms, 1.5s. */
export function formatLag(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0ms';
  if (ms < 10) return `${Math.round(ms * 10) / 10}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  return `${Math.round(ms / 100) / 10}s`;
}

function lastExit(i: InstanceInfo): string {
  if (i.lastExitSignal) return `signal ${i.lastExitSignal}`;
  // A zero code with no restarts means "never exited" as far as the wire can say.
  if (i.lastExitCode === 0 && i.restarts === 0) return '-';
  return `code ${i.lastExitCode}`;
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => (l ? `  ${l}` : l))
    .join('\n');
}

export async function describe(ctx: CommandContext, target: string, flags: DescribeFlags): Promise<number> {
  const where = whereOf(ctx, flags);
  const api = await ctx.connect();
  const { apps } = await api.describe({ target, where });
  if (flags.json) {
    ctx.json(apps.map(describeJson));
  } else {
    ctx.out(apps.map((a) => renderDescribe(a, ctx.colors)).join('\n'));
  }
  return EXIT_OK;
}

export function registerDescribe(program: Command, ctx: CommandContext): void {
  addHostOptions(program.command('describe'))
    .alias('show')
    .description('show an app: its settings, instances and recent events (env values masked)')
    .argument('<app>', 'app name or id')
    .option('--json', 'machine output')
    .action(async (target: string, flags: DescribeFlags) => {
      ctx.exitCode = await describe(ctx, target, flags);
    });
}
