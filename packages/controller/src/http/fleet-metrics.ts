// What GET /metrics says, as data: the hosts, their apps and the latest
// deployment of each app, turned into the metric families named in
// @fleet/protocol's FLEET_METRICS (and the apps' own, `fleet_app_*`). Pure:
// the caller gathers the snapshot, prometheus-text renders the result.
//
// Status-like gauges (fleet_instance_status, fleet_deployment_state) are state
// sets, as kube-state-metrics writes them: one series per possible value, 1 for
// the current one and 0 for the others, so `fleet_instance_status{status="errored"} == 1`
// and `sum by (status) (fleet_instance_status)` both work and a change of state
// never leaves a stale series behind. fleet_deployment_hosts has a series for
// every phase (0 when no host is in it).
import {
  type AppInfo,
  type AppMetric,
  appMetricName,
  type Deployment,
  DeploymentState,
  deploymentStateWord,
  FLEET_METRICS,
  HostPhase,
  hostPhaseWord,
  type HostInfo,
  HostStatus,
  type InstanceInfo,
  InstanceStatus,
  MetricKind,
} from '@fleet/protocol';
import type { FamilyType, MetricFamily } from './prometheus-text';

export interface FleetSnapshot {
  hosts: HostInfo[];
  /** The apps of every host, each with `host` set. */
  apps: AppInfo[];
  /** Any order, any number per app: the newest of each app is exported. */
  deployments: Deployment[];
}

/** `INSTANCE_STATUS_WAITING_RESTART` → `waiting-restart`; unspecified → `unknown`. */
export function instanceStatusWord(status: InstanceStatus): string {
  if (status === InstanceStatus.INSTANCE_STATUS_UNSPECIFIED || status === InstanceStatus.UNRECOGNIZED) return 'unknown';
  return status.slice('INSTANCE_STATUS_'.length).toLowerCase().replace(/_/g, '-');
}

const enumValues = <E extends Record<string, string>>(e: E, skip: string[]): E[keyof E][] =>
  Object.values(e).filter((v) => !skip.includes(v)) as E[keyof E][];

const INSTANCE_STATUSES = enumValues(InstanceStatus, [InstanceStatus.INSTANCE_STATUS_UNSPECIFIED, InstanceStatus.UNRECOGNIZED]);
const DEPLOYMENT_STATES = enumValues(DeploymentState, [DeploymentState.DEPLOYMENT_STATE_UNSPECIFIED, DeploymentState.UNRECOGNIZED]);
const HOST_PHASES = enumValues(HostPhase, [HostPhase.HOST_PHASE_UNSPECIFIED, HostPhase.UNRECOGNIZED]);

/** The contract's families, empty, in the contract's order; samples are checked against its labels. */
class ContractFamilies {
  private readonly byName = new Map<string, MetricFamily>();
  private readonly labels = new Map<string, readonly string[]>();

  constructor() {
    for (const m of FLEET_METRICS) {
      this.byName.set(m.name, { name: m.name, type: m.type, help: m.help, samples: [] });
      this.labels.set(m.name, m.labels);
    }
  }

  add(name: string, labels: Record<string, string>, value: number): void {
    const family = this.byName.get(name);
    const want = this.labels.get(name);
    if (!family || !want) throw new Error(`${name} is not in FLEET_METRICS`);
    const keys = Object.keys(labels);
    if (keys.length !== want.length || want.some((k) => !(k in labels))) {
      throw new Error(`${name} takes labels ${want.join(',')}, not ${keys.join(',')}`);
    }
    family.samples.push({ labels, value });
  }

  all(): MetricFamily[] {
    return [...this.byName.values()];
  }
}

/**
 * The apps' own families. Two apps may use one name for metrics of different
 * kinds, or a histogram's `_bucket`/`_sum`/`_count` may meet another metric's
 * name: the first one seen (hosts, then apps, in name order) keeps the name
 * and the others are left out, since one name can carry one type only.
 */
class AppFamilies {
  private readonly families = new Map<string, MetricFamily>();
  /** Sample name → the family that writes it. */
  private readonly owners = new Map<string, string>();

  /** Series already written, by family and host/app: `x` and `x_total`, or `a.b` and `a_b`, clean up to one name. */
  private readonly written = new Set<string>();

  /** The family to write one app's series into, or undefined when the name is taken (another type, or this app already wrote it). */
  family(name: string, type: FamilyType, help: string, series: string): MetricFamily | undefined {
    const key = `${name}\u0000${series}`;
    if (this.written.has(key)) return undefined;
    const found = this.claim(name, type, help);
    if (found) this.written.add(key);
    return found;
  }

  private claim(name: string, type: FamilyType, help: string): MetricFamily | undefined {
    const seen = this.families.get(name);
    if (seen) return seen.type === type ? seen : undefined;
    const sampleNames = type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
    if (this.owners.has(name) || sampleNames.some((n) => this.owners.has(n) || this.families.has(n))) return undefined;
    const family: MetricFamily = { name, type, help, samples: [] };
    this.families.set(name, family);
    for (const n of sampleNames) this.owners.set(n, name);
    return family;
  }

  all(): MetricFamily[] {
    return [...this.families.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}

const byString = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function appName(app: AppInfo): string {
  return app.spec?.name ?? app.instances[0]?.app ?? '';
}

function instanceMetrics(out: ContractFamilies, host: string, app: string, inst: InstanceInfo): void {
  const labels = { host, app, instance: String(inst.instance), release: String(inst.release) };
  out.add('fleet_instance_cpu_percent', labels, inst.cpuPercent);
  out.add('fleet_instance_memory_bytes', labels, inst.memoryBytes);
  out.add('fleet_instance_restarts_total', labels, inst.restarts);
  const current = inst.status === InstanceStatus.INSTANCE_STATUS_UNSPECIFIED || inst.status === InstanceStatus.UNRECOGNIZED ? InstanceStatus.INSTANCE_STATUS_UNKNOWN : inst.status;
  for (const s of INSTANCE_STATUSES) out.add('fleet_instance_status', { ...labels, status: instanceStatusWord(s) }, s === current ? 1 : 0);
  out.add('fleet_instance_uptime_seconds', labels, inst.uptimeMs / 1000);
  out.add('fleet_instance_event_loop_lag_seconds', labels, inst.eventLoopLagMs / 1000);
  out.add('fleet_instance_heap_used_bytes', labels, inst.heapUsedBytes);
  out.add('fleet_instance_heap_total_bytes', labels, inst.heapTotalBytes);
}

function hostMetrics(out: ContractFamilies, h: HostInfo): void {
  const labels = { host: h.name };
  out.add('fleet_host_up', labels, h.status === HostStatus.HOST_STATUS_READY ? 1 : 0);
  out.add('fleet_host_load1', labels, h.load1);
  out.add('fleet_host_memory_free_bytes', labels, h.memoryFreeBytes);
  out.add('fleet_host_memory_total_bytes', labels, h.memoryTotalBytes);
  out.add('fleet_host_disk_free_bytes', labels, h.diskFreeBytes);
  out.add('fleet_host_disk_total_bytes', labels, h.diskTotalBytes);
}

function deploymentMetrics(out: ContractFamilies, d: Deployment): void {
  const base = { app: d.app, deployment: d.id };
  for (const s of DEPLOYMENT_STATES) {
    out.add('fleet_deployment_state', { ...base, version: String(d.version), state: deploymentStateWord(s) }, s === d.state ? 1 : 0);
  }
  for (const p of HOST_PHASES) {
    out.add('fleet_deployment_hosts', { ...base, phase: hostPhaseWord(p) }, d.hosts.filter((h) => h.phase === p).length);
  }
}

const KIND_WORD: Partial<Record<MetricKind, string>> = {
  [MetricKind.METRIC_KIND_COUNTER]: 'counter',
  [MetricKind.METRIC_KIND_GAUGE]: 'gauge',
  [MetricKind.METRIC_KIND_METER]: 'meter',
  [MetricKind.METRIC_KIND_HISTOGRAM]: 'histogram',
};

function appHelp(m: AppMetric, what: string): string {
  const own = m.help.trim();
  return `${own || `${m.name} (${KIND_WORD[m.kind]})`}: ${what}`;
}

/** `x` → `x_total`, but a name already ending in `_total` is not doubled. */
function totalName(base: string): string {
  return base.endsWith('_total') ? base : `${base}_total`;
}

/** One app metric (already summed across the app's instances) as samples labelled host and app. */
function appMetric(out: AppFamilies, host: string, app: string, m: AppMetric): void {
  const base = appMetricName(m.name);
  const labels = { host, app };
  const series = `${host}\u0000${app}`;
  switch (m.kind) {
    case MetricKind.METRIC_KIND_COUNTER:
      out.family(totalName(base), 'counter', appHelp(m, "the app's counter, summed across its instances"), series)?.samples.push({ labels, value: m.value });
      return;
    case MetricKind.METRIC_KIND_GAUGE:
      out.family(base, 'gauge', appHelp(m, "the app's gauge, summed across its instances"), series)?.samples.push({ labels, value: m.value });
      return;
    case MetricKind.METRIC_KIND_METER:
      out.family(`${base}_rate`, 'gauge', appHelp(m, 'events per second, summed across the instances'), series)?.samples.push({ labels, value: m.value });
      out.family(totalName(base), 'counter', appHelp(m, 'events in all, summed across the instances'), series)?.samples.push({ labels, value: m.count });
      return;
    case MetricKind.METRIC_KIND_HISTOGRAM: {
      const family = out.family(base, 'histogram', appHelp(m, 'observations, merged across the instances'), series);
      if (!family) return;
      // Buckets travel per bucket; Prometheus wants them cumulative, ending with +Inf = every observation.
      let seen = 0;
      m.bounds.forEach((le, i) => {
        seen += m.buckets[i] ?? 0;
        family.samples.push({ suffix: '_bucket', labels: { ...labels, le: String(le) }, value: seen });
      });
      const overflow = m.buckets.slice(m.bounds.length).reduce((a, b) => a + b, 0);
      const count = Math.max(m.count, seen + overflow);
      family.samples.push({ suffix: '_bucket', labels: { ...labels, le: '+Inf' }, value: count });
      family.samples.push({ suffix: '_sum', labels, value: m.sum });
      family.samples.push({ suffix: '_count', labels, value: count });
      return;
    }
    default:
      // An unspecified or newer kind: nothing this exporter knows how to write.
      return;
  }
}

/** The newest deployment of each app, by app name. */
export function latestDeployments(deployments: readonly Deployment[]): Deployment[] {
  const latest = new Map<string, Deployment>();
  for (const d of deployments) {
    const seen = latest.get(d.app);
    if (!seen || d.createdMs > seen.createdMs) latest.set(d.app, d);
  }
  return [...latest.values()].sort((a, b) => byString(a.app, b.app));
}

/** Every family of GET /metrics: the contract's (all of them, even when empty), then the apps' own. */
export function fleetMetrics(snapshot: FleetSnapshot): MetricFamily[] {
  const out = new ContractFamilies();
  const own = new AppFamilies();
  const hosts = [...snapshot.hosts].sort((a, b) => byString(a.name, b.name));
  for (const h of hosts) hostMetrics(out, h);
  const apps = [...snapshot.apps].sort((a, b) => byString(a.host, b.host) || byString(appName(a), appName(b)));
  for (const app of apps) {
    const name = appName(app);
    const instances = [...app.instances].sort((a, b) => a.instance - b.instance);
    for (const inst of instances) instanceMetrics(out, app.host || inst.host, name, inst);
    for (const m of app.metrics ?? []) appMetric(own, app.host, name, m);
  }
  for (const d of latestDeployments(snapshot.deployments)) deploymentMetrics(out, d);
  return [...out.all(), ...own.all()];
}
