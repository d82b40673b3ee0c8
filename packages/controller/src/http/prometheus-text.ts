// Prometheus text exposition format 0.0.4, rendered from plain data: no
// sockets, no registry, no clock. One family per name (a name given twice is
// merged when the types agree, refused when they do not), `# HELP` and
// `# TYPE` before its samples, label values and help texts escaped as the
// format says (backslash, double quote in label values, newline).
// https://prometheus.io/docs/instrumenting/exposition_formats/

export type FamilyType = 'gauge' | 'counter' | 'histogram' | 'untyped';

export interface Sample {
  /** Appended to the family's name: '_bucket', '_sum', '_count' for histograms; '' otherwise. */
  suffix?: string;
  labels: Readonly<Record<string, string>>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: FamilyType;
  help: string;
  samples: Sample[];
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export function isMetricName(name: string): boolean {
  return METRIC_NAME.test(name);
}

/** Label values: `\` → `\\`, `"` → `\"`, newline → `\n`. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Help texts: `\` → `\\`, newline → `\n` (quotes stay as they are). */
export function escapeHelp(help: string): string {
  return help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** Go's ParseFloat spellings for the special values; plain JS numbers otherwise (1e+21 parses too). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** Merges families of one name (same type) and keeps the first-seen order. */
export function mergeFamilies(families: readonly MetricFamily[]): MetricFamily[] {
  const byName = new Map<string, MetricFamily>();
  for (const f of families) {
    const seen = byName.get(f.name);
    if (!seen) {
      byName.set(f.name, { ...f, samples: [...f.samples] });
    } else if (seen.type !== f.type) {
      throw new Error(`metric family ${f.name} is given as both ${seen.type} and ${f.type}`);
    } else {
      seen.samples.push(...f.samples);
    }
  }
  return [...byName.values()];
}

function renderLabels(labels: Readonly<Record<string, string>>, family: string): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  const parts = keys.map((k) => {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) throw new Error(`metric ${family}: "${k}" is not a label name`);
    return `${k}="${escapeLabelValue(labels[k]!)}"`;
  });
  return `{${parts.join(',')}}`;
}

/**
 * The exposition text. A family without samples still gets its HELP and
 * TYPE lines: a scraper then knows the metric exists and has no series now.
 */
export function renderPrometheus(families: readonly MetricFamily[]): string {
  const out: string[] = [];
  for (const f of mergeFamilies(families)) {
    if (!isMetricName(f.name)) throw new Error(`"${f.name}" is not a metric name`);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`);
    out.push(`# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) out.push(`${f.name}${s.suffix ?? ''}${renderLabels(s.labels, f.name)} ${formatValue(s.value)}`);
  }
  return out.length ? `${out.join('\n')}\n` : '';
}
