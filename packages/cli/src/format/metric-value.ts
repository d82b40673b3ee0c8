// An app's own metrics (AppMetric, recorded with the probe) in a table cell:
// counters and gauges as numbers, meters as a rate with their total, histograms
// as count, mean and estimated percentiles.
import { type AppMetric, MetricKind } from '@fleet/protocol';

const KIND_WORD: Record<MetricKind, string> = {
  [MetricKind.METRIC_KIND_UNSPECIFIED]: '-',
  [MetricKind.METRIC_KIND_COUNTER]: 'counter',
  [MetricKind.METRIC_KIND_GAUGE]: 'gauge',
  [MetricKind.METRIC_KIND_METER]: 'meter',
  [MetricKind.METRIC_KIND_HISTOGRAM]: 'histogram',
  [MetricKind.UNRECOGNIZED]: '-',
};

export function metricKindWord(kind: MetricKind): string {
  return KIND_WORD[kind] ?? '-';
}

/** Short numbers for a narrow column: 42, 0.125, 3.14, 1234, 12.3k, 4.5M. */
export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  const abs = Math.abs(v);
  if (abs >= 1e4) {
    const units: Array<[number, string]> = [
      [1e12, 'T'],
      [1e9, 'G'],
      [1e6, 'M'],
      [1e3, 'k'],
    ];
    const [size, unit] = units.find(([s]) => abs >= s)!;
    const scaled = v / size;
    return `${Math.abs(scaled) >= 100 ? Math.round(scaled) : Number(scaled.toFixed(1))}${unit}`;
  }
  if (Number.isInteger(v)) return String(v);
  if (abs >= 100) return String(Math.round(v));
  // Three significant digits; toPrecision never goes exponential for 1e-6 <= |v| < 100.
  return abs < 1e-6 ? '0' : String(Number(v.toPrecision(3)));
}

/**
 * The value below which a share `q` of the observations fall, estimated from
 * the buckets as Prometheus does: linearly inside the bucket that holds it.
 * Buckets count their own observations (not cumulative); the one past the last
 * bound is +Inf, where only "above the last bound" is known.
 */
export function histogramQuantile(m: Pick<AppMetric, 'bounds' | 'buckets'>, q: number): { value: number; above: boolean } | undefined {
  const total = m.buckets.reduce((a, b) => a + b, 0);
  if (total <= 0 || m.bounds.length === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < m.buckets.length; i++) {
    const n = m.buckets[i];
    if (n > 0 && seen + n >= rank) {
      if (i >= m.bounds.length) return { value: m.bounds[m.bounds.length - 1], above: true };
      const upper = m.bounds[i];
      const lower = i === 0 ? Math.min(0, upper) : m.bounds[i - 1];
      return { value: lower + ((upper - lower) * (rank - seen)) / n, above: false };
    }
    seen += n;
  }
  return { value: m.bounds[m.bounds.length - 1], above: true };
}

function quantileText(m: AppMetric, q: number, label: string): string {
  const r = histogramQuantile(m, q);
  if (!r) return '';
  return `${label}${r.above ? '>' : '≈'}${formatNumber(r.value)}`;
}

export function formatMetricValue(m: AppMetric): string {
  switch (m.kind) {
    case MetricKind.METRIC_KIND_METER:
      return `${formatNumber(m.value)}/s (${formatNumber(m.count)} total)`;
    case MetricKind.METRIC_KIND_HISTOGRAM: {
      const count = m.count || m.buckets.reduce((a, b) => a + b, 0);
      if (count === 0) return 'n=0';
      const parts = [`n=${formatNumber(count)}`, `avg=${formatNumber(m.sum / count)}`];
      for (const [q, label] of [
        [0.5, 'p50'],
        [0.95, 'p95'],
        [0.99, 'p99'],
      ] as const) {
        const text = quantileText(m, q, label);
        if (text) parts.push(text);
      }
      return parts.join(' ');
    }
    default:
      return formatNumber(m.value);
  }
}
