import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import {
  AppInfo,
  AppMetric,
  Deployment,
  DeploymentState,
  FLEET_METRICS,
  HostPhase,
  InstanceInfo,
  InstanceStatus,
  MetricKind,
  type Register,
} from '@fleet/protocol';
import type { HostLink } from '../../src/host-link';
import { HostRegistry } from '../../src/host-registry';
import { fleetMetrics, type FleetSnapshot, instanceStatusWord, latestDeployments } from '../../src/http/fleet-metrics';
import { renderPrometheus } from '../../src/http/prometheus-text';
import { registrySnapshot } from '../../src/http/registry-snapshot';

const T0 = 1_700_000_000_000;

const noLink = (): HostLink => ({ call: () => Promise.reject(new Error('a fake link runs nothing')), close: () => undefined });

function reg(name: string): Register {
  return { name, labels: {}, agentVersion: '0.1.0', protocolVersion: 1, os: 'linux', cpus: 4, memoryTotalBytes: 8e9, env: { SECRET: 's3cret' }, instanceId: `${name}-a`, timeMs: 0 };
}

function instance(app: string, n: number, over: Partial<InstanceInfo> = {}): InstanceInfo {
  return InstanceInfo.fromPartial({
    app,
    instance: n,
    pid: 1000 + n,
    status: InstanceStatus.INSTANCE_STATUS_ONLINE,
    cpuPercent: 12.5,
    memoryBytes: 50e6,
    restarts: 2,
    startedMs: T0 - 30_000,
    release: 3,
    eventLoopLagMs: 4,
    heapUsedBytes: 10e6,
    heapTotalBytes: 20e6,
    ...over,
  });
}

function app(name: string, instances: InstanceInfo[], metrics: AppMetric[] = []): AppInfo {
  return AppInfo.fromPartial({ spec: { name, env: { DB_PASSWORD: 'hunter2' } }, desired: 'online', instances, metrics });
}

/** Two ready hosts running api (2 instances on web1, 1 on web2) and one disconnected host. */
function fleet() {
  const clock = { now: T0 };
  const registry = new HostRegistry({ now: () => clock.now, policy: { heartbeatMs: 1_000, downAfterMs: 60_000 } });
  for (const name of ['web2', 'web1', 'web3']) registry.attach(reg(name), noLink(), `${name}:1`);
  registry.heartbeat('web1', { load1: 0.5, memoryFreeBytes: 3e9, diskFreeBytes: 40e9, diskTotalBytes: 100e9, timeMs: 0 });
  registry.snapshot('web1', [app('api', [instance('api', 1), instance('api', 0, { restarts: 0 })])]);
  registry.snapshot('web2', [app('api', [instance('api', 0, { status: InstanceStatus.INSTANCE_STATUS_ERRORED, release: 2 })])]);
  registry.snapshot('web3', [app('worker', [instance('worker', 0)])]);
  registry.detach('web3', registry.get('web3')!.link!, 'gone');
  return { clock, registry };
}

const families = (text: string): Map<string, ParsedFamily> => new Map(parsePrometheusTextFormat(text).map((f) => [f.name, f]));

function value(f: ParsedFamily | undefined, labels: Record<string, string>): number | undefined {
  const m = f?.metrics.find((s) => Object.entries(labels).every(([k, v]) => s.labels?.[k] === v));
  return m?.value === undefined ? undefined : Number(m.value);
}

test('instanceStatusWord: the words of the status label', () => {
  assert.equal(instanceStatusWord(InstanceStatus.INSTANCE_STATUS_WAITING_RESTART), 'waiting-restart');
  assert.equal(instanceStatusWord(InstanceStatus.INSTANCE_STATUS_ONLINE), 'online');
  assert.equal(instanceStatusWord(InstanceStatus.INSTANCE_STATUS_UNSPECIFIED), 'unknown');
});

test('every contract metric is exported with its type, help and labels', async () => {
  const { registry } = fleet();
  const snap = await registrySnapshot(registry, { deployments: () => [Deployment.fromPartial({ id: 'd1', app: 'api', version: 3, state: DeploymentState.DEPLOYMENT_STATE_RUNNING, createdMs: T0 })] })();
  const parsed = families(renderPrometheus(fleetMetrics(snap)));
  for (const m of FLEET_METRICS) {
    const f = parsed.get(m.name);
    assert.ok(f, `${m.name} is exported`);
    assert.equal(f.type, m.type.toUpperCase(), m.name);
    assert.equal(f.help, m.help, m.name);
    assert.ok(f.metrics.length > 0, `${m.name} has samples`);
    for (const s of f.metrics) assert.deepEqual(Object.keys(s.labels ?? {}).sort(), [...m.labels].sort(), `${m.name} labels`);
  }
});

test('instances: one series per instance labelled host, app, instance, release, with the values in base units', async () => {
  const { clock, registry } = fleet();
  clock.now = T0 + 1_000;
  const parsed = families(renderPrometheus(fleetMetrics(await registrySnapshot(registry)())));
  const w1i0 = { host: 'web1', app: 'api', instance: '0', release: '3' };
  assert.equal(value(parsed.get('fleet_instance_cpu_percent'), w1i0), 12.5);
  assert.equal(value(parsed.get('fleet_instance_memory_bytes'), w1i0), 50e6);
  assert.equal(value(parsed.get('fleet_instance_restarts_total'), w1i0), 0);
  assert.equal(value(parsed.get('fleet_instance_restarts_total'), { ...w1i0, instance: '1' }), 2);
  assert.equal(value(parsed.get('fleet_instance_uptime_seconds'), w1i0), 31, 'from startedMs, on the controller clock');
  assert.equal(value(parsed.get('fleet_instance_event_loop_lag_seconds'), w1i0), 0.004);
  assert.equal(value(parsed.get('fleet_instance_heap_used_bytes'), w1i0), 10e6);
  assert.equal(value(parsed.get('fleet_instance_heap_total_bytes'), w1i0), 20e6);
  const cpu = parsed.get('fleet_instance_cpu_percent')!.metrics.map((s) => `${s.labels!.host}/${s.labels!.app}/${s.labels!.instance}@${s.labels!.release}`);
  assert.deepEqual(cpu, ['web1/api/0@3', 'web1/api/1@3', 'web2/api/0@2', 'web3/worker/0@3'], 'hosts, apps and instances in order');
});

test('status is a state set: 1 for the current status, 0 for each other; an unreachable host makes it unknown', async () => {
  const { registry } = fleet();
  const status = families(renderPrometheus(fleetMetrics(await registrySnapshot(registry)()))).get('fleet_instance_status')!;
  const of = (host: string) =>
    Object.fromEntries(status.metrics.filter((s) => s.labels!.host === host && s.labels!.instance === '0').map((s) => [s.labels!.status, Number(s.value)]));
  assert.deepEqual(of('web1'), { launching: 0, online: 1, stopping: 0, stopped: 0, errored: 0, 'waiting-restart': 0, unknown: 0 });
  assert.equal(of('web2').errored, 1);
  assert.equal(of('web3').unknown, 1);
  assert.equal(Object.values(of('web3')).reduce((a, b) => a + b), 1);
});

test('hosts: up, load, memory and disk as the registry shows them', async () => {
  const { registry } = fleet();
  const parsed = families(renderPrometheus(fleetMetrics(await registrySnapshot(registry)())));
  assert.equal(value(parsed.get('fleet_host_up'), { host: 'web1' }), 1);
  assert.equal(value(parsed.get('fleet_host_up'), { host: 'web3' }), 0, 'disconnected');
  assert.equal(value(parsed.get('fleet_host_load1'), { host: 'web1' }), 0.5);
  assert.equal(value(parsed.get('fleet_host_memory_free_bytes'), { host: 'web1' }), 3e9);
  assert.equal(value(parsed.get('fleet_host_memory_total_bytes'), { host: 'web1' }), 8e9);
  assert.equal(value(parsed.get('fleet_host_disk_free_bytes'), { host: 'web1' }), 40e9);
  assert.equal(value(parsed.get('fleet_host_disk_total_bytes'), { host: 'web1' }), 100e9);
  assert.deepEqual(parsed.get('fleet_host_up')!.metrics.map((s) => s.labels!.host), ['web1', 'web2', 'web3']);
});

test('deployments: the latest of each app, its state as a state set and its hosts counted by phase', () => {
  const host = (name: string, phase: HostPhase) => ({ name, phase });
  const old = Deployment.fromPartial({ id: 'old', app: 'api', version: 2, state: DeploymentState.DEPLOYMENT_STATE_SUCCEEDED, createdMs: T0 - 1 });
  const cur = Deployment.fromPartial({
    id: 'cur',
    app: 'api',
    version: 3,
    state: DeploymentState.DEPLOYMENT_STATE_RUNNING,
    createdMs: T0,
    hosts: [host('web1', HostPhase.HOST_PHASE_HEALTHY), host('web2', HostPhase.HOST_PHASE_SWITCHING), host('web3', HostPhase.HOST_PHASE_WAITING), host('web4', HostPhase.HOST_PHASE_WAITING)],
  });
  const other = Deployment.fromPartial({ id: 'w', app: 'worker', version: 1, state: DeploymentState.DEPLOYMENT_STATE_FAILED, createdMs: T0 - 5 });
  assert.deepEqual(latestDeployments([old, other, cur]).map((d) => d.id), ['cur', 'w']);
  const parsed = families(renderPrometheus(fleetMetrics({ hosts: [], apps: [], deployments: [old, other, cur] })));
  const state = parsed.get('fleet_deployment_state')!;
  assert.ok(!state.metrics.some((s) => s.labels!.deployment === 'old'), 'older deployments are not exported');
  const ones = state.metrics.filter((s) => s.value === '1').map((s) => `${s.labels!.app}:${s.labels!.deployment}:v${s.labels!.version}:${s.labels!.state}`);
  assert.deepEqual(ones, ['api:cur:v3:running', 'worker:w:v1:failed']);
  assert.deepEqual(
    state.metrics.filter((s) => s.labels!.app === 'api').map((s) => s.labels!.state),
    ['pending', 'running', 'paused', 'succeeded', 'failed', 'rolling-back', 'rolled-back', 'cancelled'],
  );
  const phases = parsed.get('fleet_deployment_hosts')!;
  const api = Object.fromEntries(phases.metrics.filter((s) => s.labels!.app === 'api').map((s) => [s.labels!.phase, Number(s.value)]));
  assert.deepEqual(api, { waiting: 2, preparing: 0, prepared: 0, switching: 1, verifying: 0, healthy: 1, failed: 0, 'rolling-back': 0, 'rolled-back': 0, skipped: 0 });
});

test('with nothing to show, every contract family is still declared', () => {
  const text = renderPrometheus(fleetMetrics({ hosts: [], apps: [], deployments: [] }));
  for (const m of FLEET_METRICS) assert.match(text, new RegExp(`^# TYPE ${m.name} ${m.type}$`, 'm'));
});

const metric = (over: Partial<AppMetric>): AppMetric => AppMetric.fromPartial(over);

function withAppMetrics(metrics: AppMetric[], host = 'web1'): FleetSnapshot {
  return { hosts: [], deployments: [], apps: [{ ...app('api', []), host, metrics }] };
}

test('app metrics: counter → _total, gauge as is, meter → _rate and _total, labelled host and app', () => {
  const text = renderPrometheus(
    fleetMetrics(
      withAppMetrics([
        metric({ name: 'requests', kind: MetricKind.METRIC_KIND_COUNTER, value: 42, help: 'requests served' }),
        metric({ name: 'queue-depth', kind: MetricKind.METRIC_KIND_GAUGE, value: 7 }),
        metric({ name: 'orders', kind: MetricKind.METRIC_KIND_METER, value: 2.5, count: 900 }),
        metric({ name: 'jobs_total', kind: MetricKind.METRIC_KIND_COUNTER, value: 3 }),
      ]),
    ),
  );
  const parsed = families(text);
  const labels = { host: 'web1', app: 'api' };
  assert.equal(parsed.get('fleet_app_requests_total')!.type, 'COUNTER');
  assert.match(parsed.get('fleet_app_requests_total')!.help, /^requests served: /);
  assert.equal(value(parsed.get('fleet_app_requests_total'), labels), 42);
  assert.equal(parsed.get('fleet_app_queue_depth')!.type, 'GAUGE', 'a name is made a metric name');
  assert.equal(value(parsed.get('fleet_app_queue_depth'), labels), 7);
  assert.equal(parsed.get('fleet_app_orders_rate')!.type, 'GAUGE');
  assert.equal(value(parsed.get('fleet_app_orders_rate'), labels), 2.5);
  assert.equal(parsed.get('fleet_app_orders_total')!.type, 'COUNTER');
  assert.equal(value(parsed.get('fleet_app_orders_total'), labels), 900);
  assert.ok(parsed.has('fleet_app_jobs_total') && !parsed.has('fleet_app_jobs_total_total'), '_total is not doubled');
  assert.deepEqual(parsed.get('fleet_app_requests_total')!.metrics[0]!.labels, labels);
});

test('app histogram: cumulative le buckets ending with +Inf = count, then _sum and _count', () => {
  const h = metric({ name: 'latency', kind: MetricKind.METRIC_KIND_HISTOGRAM, bounds: [0.05, 0.1, 0.5], buckets: [3, 0, 5, 2], count: 10, sum: 1.75 });
  const text = renderPrometheus(fleetMetrics(withAppMetrics([h])));
  assert.match(
    text,
    new RegExp(
      [
        '# TYPE fleet_app_latency histogram',
        'fleet_app_latency_bucket{host="web1",app="api",le="0.05"} 3',
        'fleet_app_latency_bucket{host="web1",app="api",le="0.1"} 3',
        'fleet_app_latency_bucket{host="web1",app="api",le="0.5"} 8',
        'fleet_app_latency_bucket{host="web1",app="api",le="\\+Inf"} 10',
        'fleet_app_latency_sum{host="web1",app="api"} 1.75',
        'fleet_app_latency_count{host="web1",app="api"} 10',
      ].join('\n'),
    ),
  );
  const [family] = parsePrometheusTextFormat(text).filter((f) => f.name === 'fleet_app_latency');
  assert.equal(family!.type, 'HISTOGRAM');
  assert.deepEqual(family!.metrics[0]!.buckets, { '0.05': '3', '0.1': '3', '0.5': '8', '+Inf': '10' });
  // Without an overflow bucket sent, +Inf is the count; a count short of the buckets never makes +Inf smaller than le=0.5.
  const short = renderPrometheus(fleetMetrics(withAppMetrics([metric({ ...h, buckets: [1, 1, 1], count: 2 })])));
  assert.match(short, /le="0\.5"\} 3\nfleet_app_latency_bucket\{host="web1",app="api",le="\+Inf"\} 3\n/);
});

test('app metrics of one name but different kinds: the first keeps the name, one type per family', () => {
  const snap: FleetSnapshot = {
    hosts: [],
    deployments: [],
    apps: [
      { ...app('api', []), host: 'web1', metrics: [metric({ name: 'busy', kind: MetricKind.METRIC_KIND_GAUGE, value: 1 })] },
      { ...app('worker', []), host: 'web1', metrics: [metric({ name: 'busy', kind: MetricKind.METRIC_KIND_HISTOGRAM, bounds: [1], buckets: [1], count: 1, sum: 1 }), metric({ name: 'busy_sum', kind: MetricKind.METRIC_KIND_GAUGE, value: 2 })] },
      { ...app('web', []), host: 'web2', metrics: [metric({ name: 'busy', kind: MetricKind.METRIC_KIND_GAUGE, value: 5 })] },
    ],
  };
  const text = renderPrometheus(fleetMetrics(snap));
  const busy = families(text).get('fleet_app_busy')!;
  assert.equal(busy.type, 'GAUGE');
  assert.deepEqual(busy.metrics.map((s) => s.labels!.app), ['api', 'web']);
  assert.equal(text.match(/# TYPE fleet_app_busy /g)?.length, 1);
  assert.match(text, /# TYPE fleet_app_busy_sum gauge/, 'no histogram took _sum');
  // Unknown kinds are left out.
  assert.doesNotMatch(renderPrometheus(fleetMetrics(withAppMetrics([metric({ name: 'odd', kind: MetricKind.METRIC_KIND_UNSPECIFIED, value: 1 })]))), /odd/);
});

test('the local daemon\'s host (a link with follow) is asked live, not read from its stale entry', async () => {
  const registry = new HostRegistry({ now: () => T0 });
  const live = [app('api', [instance('api', 0, { uptimeMs: 5_000, cpuPercent: 99 })])];
  const calls: string[] = [];
  const link: HostLink = {
    call: (async (method: string) => {
      calls.push(method);
      return { apps: live };
    }) as HostLink['call'],
    follow: () => Promise.resolve({ close: () => undefined }),
    close: () => undefined,
  };
  registry.attach(reg('laptop'), link, 'local');
  registry.snapshot('laptop', [app('stale', [instance('stale', 0)])]);
  const snap = await registrySnapshot(registry)();
  assert.deepEqual(calls, ['list']);
  assert.deepEqual(snap.apps.map((a) => [a.host, a.spec?.name, a.instances[0]!.host]), [['laptop', 'api', 'laptop']]);
  assert.equal(snap.hosts[0]!.apps, 1);
  const parsed = families(renderPrometheus(fleetMetrics(snap)));
  assert.equal(value(parsed.get('fleet_instance_cpu_percent'), { host: 'laptop', app: 'api' }), 99);
  assert.equal(value(parsed.get('fleet_instance_uptime_seconds'), { host: 'laptop', app: 'api' }), 5);
});

test('app metric names that clean up to one series (x and x_total, a.b and a_b) give one sample, the first', () => {
  const text = renderPrometheus(
    fleetMetrics(
      withAppMetrics([
        metric({ name: 'x', kind: MetricKind.METRIC_KIND_COUNTER, value: 1 }),
        metric({ name: 'x_total', kind: MetricKind.METRIC_KIND_COUNTER, value: 2 }),
        metric({ name: 'a.b', kind: MetricKind.METRIC_KIND_GAUGE, value: 3 }),
        metric({ name: 'a_b', kind: MetricKind.METRIC_KIND_GAUGE, value: 4 }),
      ]),
    ),
  );
  const lines = text.split('\n').filter((l) => l.startsWith('fleet_app_'));
  assert.equal(lines.filter((l) => l.startsWith('fleet_app_x_total{')).length, 1, text);
  assert.equal(lines.filter((l) => l.startsWith('fleet_app_a_b{')).length, 1, text);
});
