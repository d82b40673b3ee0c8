import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { MAX_BOUNDS, MAX_METRICS, MAX_TEXT, parseMetrics, parseVitals } from '../../src/runner/probe-messages';
import { MetricKind } from '../../src/runner/metric-kind';

test('vitals: three non-negative numbers, heap in whole bytes', () => {
  assert.deepEqual(parseVitals({ fleet: 'vitals', lagMs: 1.25, heapUsed: 1000.4, heapTotal: 2000 }), { lagMs: 1.25, heapUsed: 1000, heapTotal: 2000 });
  assert.equal(parseVitals({ fleet: 'vitals', lagMs: -1, heapUsed: 1, heapTotal: 1 }), undefined);
  assert.equal(parseVitals({ fleet: 'vitals', lagMs: 1, heapUsed: '1', heapTotal: 1 }), undefined);
  assert.equal(parseVitals({ fleet: 'metrics', lagMs: 1, heapUsed: 1, heapTotal: 1 }), undefined);
  assert.equal(parseVitals('ready'), undefined);
  assert.equal(parseVitals(null), undefined);
});

test('metrics: the probe’s shapes become AppMetric', () => {
  const out = parseMetrics({
    fleet: 'metrics',
    metrics: [
      { name: 'jobs', kind: 'counter', value: 3, help: 'jobs done' },
      { name: 'conns', kind: 'gauge', value: -2 },
      { name: 'req', kind: 'meter', value: 0.5, count: 30 },
      { name: 'ms', kind: 'histogram', value: 4, count: 2, bounds: [5, 10], buckets: [1, 1, 0], sum: 8 },
    ],
  });
  assert.deepEqual(out, [
    { name: 'jobs', kind: MetricKind.METRIC_KIND_COUNTER, value: 3, count: 0, bounds: [], buckets: [], sum: 0, help: 'jobs done' },
    { name: 'conns', kind: MetricKind.METRIC_KIND_GAUGE, value: -2, count: 1, bounds: [], buckets: [], sum: 0, help: '' },
    { name: 'req', kind: MetricKind.METRIC_KIND_METER, value: 0.5, count: 30, bounds: [], buckets: [], sum: 0, help: '' },
    { name: 'ms', kind: MetricKind.METRIC_KIND_HISTOGRAM, value: 4, count: 2, bounds: [5, 10], buckets: [1, 1, 0], sum: 8, help: '' },
  ]);
});

test('a bad entry is dropped alone; a bad message is not metrics at all', () => {
  const good = { name: 'ok', kind: 'counter', value: 1 };
  const bad = [
    null,
    'jobs',
    { name: '', kind: 'counter', value: 1 },
    { name: 'k', kind: 'summary', value: 1 },
    { name: 'v', kind: 'counter', value: Number.NaN },
    { name: 'm', kind: 'meter', value: 1 }, // no count
    { name: 'h1', kind: 'histogram', value: 0, count: 0, bounds: [2, 1], buckets: [0, 0, 0], sum: 0 },
    { name: 'h2', kind: 'histogram', value: 0, count: 0, bounds: [1], buckets: [0], sum: 0 },
    { name: 'h3', kind: 'histogram', value: 0, count: 0, bounds: [1], buckets: [0, -1], sum: 0 },
    { name: 'h4', kind: 'histogram', value: 0, count: 0, bounds: new Array(MAX_BOUNDS + 1).fill(0).map((_, i) => i), buckets: new Array(MAX_BOUNDS + 2).fill(0), sum: 0 },
    { name: 'ok', kind: 'gauge', value: 5 }, // a second "ok": the first wins
  ];
  assert.deepEqual(parseMetrics({ fleet: 'metrics', metrics: [good, ...bad] })?.map((m) => m.name), ['ok']);
  assert.equal(parseMetrics({ fleet: 'metrics', metrics: 'lots' }), undefined);
  assert.equal(parseMetrics({ fleet: 'vitals' }), undefined);
  assert.deepEqual(parseMetrics({ fleet: 'metrics', metrics: [] }), []);
});

test('bounded: at most MAX_METRICS metrics, names and help cut to MAX_TEXT', () => {
  const many = new Array(MAX_METRICS + 50).fill(0).map((_, i) => ({ name: `m${i}`, kind: 'counter', value: i, help: 'h'.repeat(1000) }));
  const out = parseMetrics({ fleet: 'metrics', metrics: [{ name: 'n'.repeat(1000), kind: 'counter', value: 1 }, ...many] })!;
  assert.equal(out.length, MAX_METRICS);
  assert.equal(out[0]!.name.length, MAX_TEXT);
  assert.equal(out[1]!.help.length, MAX_TEXT);
});
