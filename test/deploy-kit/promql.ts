// A small PromQL scanner for the dashboard's queries: which metrics, labels and
// functions each expression uses, checked against FLEET_METRICS.
import * as assert from 'node:assert/strict';
import { appMetricName, FLEET_METRICS, type MetricName } from '@fleet/protocol';
export interface Matcher {
  label: string;
  op: string;
  value: string;
}

export interface MetricRef {
  /** '' for a bare selector {__name__=~"…"}. */
  name: string;
  matchers: Matcher[];
  /** Functions and aggregations it sits in, outermost first. */
  within: string[];
}

export const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
export const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
export const OPERATOR_WORDS = new Set(['and', 'or', 'unless', 'bool', 'atan2']);

export function readString(src: string, i: number): { value: string; end: number } {
  const q = src[i]!;
  let value = '';
  let j = i + 1;
  while (j < src.length && src[j] !== q) {
    if (src[j] === '\\' && q !== '`') j++;
    value += src[j];
    j++;
  }
  assert.ok(j < src.length, `unterminated string in ${src}`);
  return { value, end: j + 1 };
}

export function readMatchers(src: string, i: number): { matchers: Matcher[]; end: number } {
  const matchers: Matcher[] = [];
  let j = i + 1;
  for (;;) {
    while (/[\s,]/.test(src[j] ?? '')) j++;
    if (src[j] === '}') return { matchers, end: j + 1 };
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*/.exec(src.slice(j));
    assert.ok(m, `bad label matcher at "${src.slice(j)}" in ${src}`);
    j += m[0].length;
    assert.ok(/["'`]/.test(src[j] ?? ''), `label ${m[1]}: a quoted value expected in ${src}`);
    const s = readString(src, j);
    matchers.push({ label: m[1]!, op: m[2]!, value: s.value });
    j = s.end;
  }
}

/** The metric selectors of a PromQL expression, and the labels it groups by. */
export function scanPromql(expr: string): { refs: MetricRef[]; grouping: string[]; functions: string[] } {
  const src = expr.replace(/\[[^\]]*\]/g, ' '); // range selectors ([5m], [$__rate_interval])
  const refs: MetricRef[] = [];
  const grouping: string[] = [];
  const functions: string[] = [];
  const stack: string[] = [];
  let pending = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === '`') {
      i = readString(src, i).end;
    } else if (c === '{') {
      const r = readMatchers(src, i);
      refs.push({ name: '', matchers: r.matchers, within: [...stack] });
      i = r.end;
    } else if (c === '(') {
      stack.push(pending);
      pending = '';
      i++;
    } else if (c === ')') {
      stack.pop();
      i++;
    } else if (/[0-9.]/.test(c)) {
      i += /^[0-9.]+(e[+-]?[0-9]+)?/i.exec(src.slice(i))![0].length;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const word = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(src.slice(i))![0];
      i += word.length;
      while (/\s/.test(src[i] ?? '')) i++;
      if (GROUPING.has(word) && src[i] === '(') {
        const close = src.indexOf(')', i);
        grouping.push(...src.slice(i + 1, close).split(',').map((l) => l.trim()).filter(Boolean));
        i = close + 1;
      } else if (OPERATOR_WORDS.has(word)) {
        // binary operator
      } else if (src[i] === '(' || AGGREGATIONS.has(word)) {
        pending = word;
        functions.push(word);
      } else {
        const ref: MetricRef = { name: word, matchers: [], within: [...stack] };
        if (src[i] === '{') {
          const r = readMatchers(src, i);
          ref.matchers = r.matchers;
          i = r.end;
        }
        refs.push(ref);
      }
    } else {
      i++; // + - * / % ^ == != < > , …
    }
  }
  assert.equal(stack.length, 0, `unbalanced parentheses in ${expr}`);
  return { refs, grouping, functions };
}

export const METRICS = new Map<string, MetricName>(FLEET_METRICS.map((m) => [m.name, m]));
export const APP_PREFIX = appMetricName('x').slice(0, -1); // fleet_app_
export const APP_LABELS = ['host', 'app'];
export const SCRAPE_LABELS = ['job'];

/** Checks one expression; returns the Fleet metric names it uses. */
export function checkPromql(expr: string, where: string): string[] {
  const { refs, grouping } = scanPromql(expr);
  assert.ok(refs.length > 0, `${where}: no metric in ${expr}`);
  const used: string[] = [];
  const labelsInPlay = new Set<string>(['__name__', ...SCRAPE_LABELS]);
  for (const ref of refs) {
    let allowed: string[];
    const nameMatcher = ref.matchers.find((m) => m.label === '__name__');
    let name = ref.name;
    if (!name) {
      assert.ok(nameMatcher, `${where}: a selector without a metric name in ${expr}`);
      if (nameMatcher.op === '=') name = nameMatcher.value;
    }
    if (name) {
      const metric = METRICS.get(name);
      if (metric) {
        allowed = [...metric.labels];
        used.push(name);
        const counterFn = ref.within.find((f) => ['rate', 'irate', 'increase', 'resets'].includes(f));
        assert.ok(!counterFn || metric.type === 'counter', `${where}: ${counterFn}() of the gauge ${name}`);
      } else {
        assert.ok(name.startsWith(APP_PREFIX) && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name),
          `${where}: ${name} is not a metric Fleet exports (packages/protocol/src/metric-names.ts) in ${expr}`);
        allowed = name.endsWith('_bucket') ? [...APP_LABELS, 'le'] : APP_LABELS;
      }
    } else {
      assert.ok(nameMatcher!.op === '=~' && nameMatcher!.value.startsWith(APP_PREFIX) && !nameMatcher!.value.slice(APP_PREFIX.length).includes('|'),
        `${where}: __name__${nameMatcher!.op}"${nameMatcher!.value}" may match metrics Fleet does not export (only ${APP_PREFIX}… by pattern)`);
      allowed = [...APP_LABELS, 'le'];
    }
    for (const m of ref.matchers) {
      if (m.label === '__name__') continue;
      assert.ok(allowed.includes(m.label) || SCRAPE_LABELS.includes(m.label), `${where}: ${name || 'the selector'} has no label ${m.label} (it has ${allowed.join(', ')}) in ${expr}`);
    }
    for (const l of allowed) labelsInPlay.add(l);
  }
  for (const l of grouping) assert.ok(labelsInPlay.has(l), `${where}: groups by ${l}, which none of its metrics has, in ${expr}`);
  return used;
}

