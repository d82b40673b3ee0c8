// The Prometheus metrics Fleet exports (GET /metrics on the controller and on
// an agent), named once: the exporter renders these, the Grafana dashboard in
// deploy/ queries them, and a test checks that the two agree.
export type MetricType = 'gauge' | 'counter';

export interface MetricName {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly string[];
}

const INSTANCE = ['host', 'app', 'instance', 'release'] as const;

export const FLEET_METRICS: readonly MetricName[] = [
  { name: 'fleet_instance_cpu_percent', type: 'gauge', help: 'CPU use of the instance, percent of one core', labels: INSTANCE },
  { name: 'fleet_instance_memory_bytes', type: 'gauge', help: 'resident memory of the instance', labels: INSTANCE },
  { name: 'fleet_instance_restarts_total', type: 'counter', help: 'restarts of the instance since its app was started', labels: INSTANCE },
  { name: 'fleet_instance_status', type: 'gauge', help: '1 for the status the instance is in (launching, online, stopping, stopped, errored, waiting-restart, unknown)', labels: [...INSTANCE, 'status'] },
  { name: 'fleet_instance_uptime_seconds', type: 'gauge', help: 'time since the instance came online; 0 when not online', labels: INSTANCE },
  { name: 'fleet_instance_event_loop_lag_seconds', type: 'gauge', help: 'event-loop delay measured inside the instance (p99 over the last report interval)', labels: INSTANCE },
  { name: 'fleet_instance_heap_used_bytes', type: 'gauge', help: 'V8 heap used inside the instance', labels: INSTANCE },
  { name: 'fleet_instance_heap_total_bytes', type: 'gauge', help: 'V8 heap reserved inside the instance', labels: INSTANCE },
  { name: 'fleet_host_up', type: 'gauge', help: '1 while the host is ready, 0 while disconnected or down', labels: ['host'] },
  { name: 'fleet_host_load1', type: 'gauge', help: 'one-minute load average of the host', labels: ['host'] },
  { name: 'fleet_host_memory_free_bytes', type: 'gauge', help: 'free memory of the host', labels: ['host'] },
  { name: 'fleet_host_memory_total_bytes', type: 'gauge', help: 'memory of the host', labels: ['host'] },
  { name: 'fleet_host_disk_free_bytes', type: 'gauge', help: 'free space on the filesystem of the agent\'s FLEET_HOME', labels: ['host'] },
  { name: 'fleet_host_disk_total_bytes', type: 'gauge', help: 'size of the filesystem of the agent\'s FLEET_HOME', labels: ['host'] },
  { name: 'fleet_deployment_state', type: 'gauge', help: '1 for the state of the latest deployment of each app (running, paused, succeeded, failed, rolling-back, rolled-back, cancelled)', labels: ['app', 'deployment', 'version', 'state'] },
  { name: 'fleet_deployment_hosts', type: 'gauge', help: 'hosts of the latest deployment of each app, by phase (waiting, preparing, switching, verifying, healthy, failed, rolled-back, skipped…)', labels: ['app', 'deployment', 'phase'] },
];

/**
 * An app's own metric (@fleet/probe) as exported: `fleet_app_<name>` with
 * labels host and app, summed across the app's instances. Counters get
 * `_total`; meters export `_rate` (per second) and `_total`; histograms
 * `_bucket{le}`, `_sum`, `_count`.
 */
export function appMetricName(name: string): string {
  const clean = name.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^([0-9])/, '_$1');
  return `fleet_app_${clean}`;
}
