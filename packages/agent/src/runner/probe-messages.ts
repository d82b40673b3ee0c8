// What a Node instance tells its runner over IPC besides 'ready' and
// {fleet: 'drained'}, checked here because it comes from the app's process
// (any code can call process.send). Pure: a message in, a value or undefined out.
//
//   {fleet: 'vitals', lagMs, heapUsed, heapTotal}  from the preload shim (shim/vitals-shim.js)
//   {fleet: 'metrics', metrics: [...]}             from @fleet/probe (packages/probe/src/message.ts)
//
// A metrics message is bounded (MAX_METRICS metrics, MAX_BOUNDS bucket bounds,
// names and help cut to MAX_TEXT): an app cannot make its runner push
// megabytes to the agent. An entry that does not check out is dropped alone.
import { type AppMetric, MetricKind } from './metric-kind';

export interface Vitals {
  /** Event-loop delay, p99 over the last report interval, in ms. */
  lagMs: number;
  heapUsed: number;
  heapTotal: number;
}

export const MAX_METRICS = 100;
export const MAX_BOUNDS = 64;
export const MAX_TEXT = 200;

const KINDS: Record<string, MetricKind> = {
  counter: MetricKind.METRIC_KIND_COUNTER,
  gauge: MetricKind.METRIC_KIND_GAUGE,
  meter: MetricKind.METRIC_KIND_METER,
  histogram: MetricKind.METRIC_KIND_HISTOGRAM,
};

type Fields = Record<string, unknown>;

export function parseVitals(msg: unknown): Vitals | undefined {
  if (!isFleetMessage(msg, 'vitals')) return undefined;
  const lagMs = msg.lagMs;
  const heapUsed = msg.heapUsed;
  const heapTotal = msg.heapTotal;
  if (!isNonNegative(lagMs) || !isNonNegative(heapUsed) || !isNonNegative(heapTotal)) return undefined;
  return { lagMs, heapUsed: Math.round(heapUsed), heapTotal: Math.round(heapTotal) };
}

/** The metrics of a {fleet: 'metrics'} message, checked and bounded; undefined if it is not one. */
export function parseMetrics(msg: unknown): AppMetric[] | undefined {
  if (!isFleetMessage(msg, 'metrics') || !Array.isArray(msg.metrics)) return undefined;
  const out: AppMetric[] = [];
  const seen = new Set<string>();
  for (const raw of msg.metrics as unknown[]) {
    if (out.length >= MAX_METRICS) break;
    const m = parseMetric(raw);
    if (!m || seen.has(m.name)) continue; // the first of a name wins
    seen.add(m.name);
    out.push(m);
  }
  return out;
}

function parseMetric(raw: unknown): AppMetric | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const f = raw as Fields;
  if (typeof f.name !== 'string' || f.name === '' || typeof f.kind !== 'string') return undefined;
  const kind = KINDS[f.kind];
  if (!kind || typeof f.value !== 'number' || !Number.isFinite(f.value)) return undefined;
  const metric: AppMetric = {
    name: f.name.slice(0, MAX_TEXT),
    kind,
    value: f.value,
    count: 0,
    bounds: [],
    buckets: [],
    sum: 0,
    help: typeof f.help === 'string' ? f.help.slice(0, MAX_TEXT) : '',
  };
  switch (kind) {
    case MetricKind.METRIC_KIND_GAUGE:
      metric.count = 1; // one instance's value: the app total sums them (aggregate-metrics.ts)
      return metric;
    case MetricKind.METRIC_KIND_METER:
      if (!isCount(f.count)) return undefined;
      metric.count = f.count;
      return metric;
    case MetricKind.METRIC_KIND_HISTOGRAM: {
      const { bounds, buckets, sum, count } = f;
      if (!Array.isArray(bounds) || !Array.isArray(buckets)) return undefined;
      if (bounds.length === 0 || bounds.length > MAX_BOUNDS || buckets.length !== bounds.length + 1) return undefined;
      if (!bounds.every((b, i) => typeof b === 'number' && Number.isFinite(b) && (i === 0 || b > (bounds[i - 1] as number)))) return undefined;
      if (!buckets.every(isCount) || !isCount(count) || typeof sum !== 'number' || !Number.isFinite(sum)) return undefined;
      metric.bounds = bounds as number[];
      metric.buckets = buckets as number[];
      metric.count = count;
      metric.sum = sum;
      return metric;
    }
    default:
      return metric; // a counter: value is the total
  }
}

function isFleetMessage(msg: unknown, kind: string): msg is Fields {
  return typeof msg === 'object' && msg !== null && (msg as Fields).fleet === kind;
}

function isNonNegative(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v) && v >= 0;
}

function isCount(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}
