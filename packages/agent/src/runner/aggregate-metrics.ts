// An app's metrics across its instances, from what each instance last reported
// (@fleet/probe). Pure: lists in, one list out, sorted by name.
//
//   counter    value and count add up (the app's total)
//   meter      rates add up (the app's events per second), counts add up
//   gauge      values add up (connections, queue lengths: the app's total);
//              count is how many instances reported it, so value / count is the mean
//   histogram  buckets add up bucket by bucket, as do count and sum; value is
//              the merged mean (sum / count)
//
// A name reported in different shapes — as another kind, or as a histogram
// with other bucket bounds (two releases side by side during a reload) —
// cannot be merged: the shape most instances report wins (on a tie, the one
// of the lowest-numbered instance), the others are left out and the help text
// says how many, so a total never silently mixes incompatible numbers.
import { type AppMetric, MetricKind } from './metric-kind';

interface Group {
  /** Instances per shape, in the order the shapes were first seen. */
  shapes: Map<string, AppMetric[]>;
}

export function aggregateMetrics(perInstance: readonly (readonly AppMetric[])[]): AppMetric[] {
  const groups = new Map<string, Group>();
  for (const metrics of perInstance) {
    for (const m of metrics) {
      let g = groups.get(m.name);
      if (!g) groups.set(m.name, (g = { shapes: new Map() }));
      const key = shapeOf(m);
      const list = g.shapes.get(key);
      if (list) list.push(m);
      else g.shapes.set(key, [m]);
    }
  }
  const out: AppMetric[] = [];
  for (const [name, g] of groups) {
    let chosen: AppMetric[] = [];
    let total = 0;
    for (const list of g.shapes.values()) {
      total += list.length;
      if (list.length > chosen.length) chosen = list; // strictly more: a tie keeps the earlier
    }
    const all = [...g.shapes.values()].flat();
    const merged = merge(name, chosen);
    // The help text describes the name, whoever reported it.
    merged.help = all.find((m) => m.help)?.help ?? '';
    const left = total - chosen.length;
    if (left > 0) {
      const otherKind = all.filter((m) => m.kind !== merged.kind).length;
      const why = [otherKind > 0 ? `${otherKind} as another kind` : '', left > otherKind ? `${left - otherKind} with other bucket bounds` : '']
        .filter(Boolean)
        .join(', ');
      merged.help = `${merged.help ? `${merged.help} ` : ''}[${left} of ${total} instances left out: ${why}]`;
    }
    out.push(merged);
  }
  return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Metrics of the same shape can be merged. */
function shapeOf(m: AppMetric): string {
  return m.kind === MetricKind.METRIC_KIND_HISTOGRAM ? `${m.kind}:${m.bounds.join(',')}` : m.kind;
}

/** Merges metrics of one name and one shape (at least one). */
function merge(name: string, list: AppMetric[]): AppMetric {
  const first = list[0];
  const out: AppMetric = {
    name,
    kind: first.kind,
    value: 0,
    count: 0,
    bounds: [...first.bounds],
    buckets: first.buckets.map(() => 0),
    sum: 0,
    help: '',
  };
  for (const m of list) {
    out.value += m.value;
    out.count += m.count;
    out.sum += m.sum;
    for (let i = 0; i < out.buckets.length; i++) out.buckets[i] += m.buckets[i] ?? 0;
  }
  if (out.kind === MetricKind.METRIC_KIND_HISTOGRAM) out.value = out.count > 0 ? out.sum / out.count : 0;
  return out;
}
