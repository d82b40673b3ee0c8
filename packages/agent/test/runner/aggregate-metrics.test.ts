import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { aggregateMetrics } from '../../src/runner/aggregate-metrics';
import { type AppMetric, MetricKind } from '../../src/runner/metric-kind';

const { METRIC_KIND_COUNTER: COUNTER, METRIC_KIND_GAUGE: GAUGE, METRIC_KIND_METER: METER, METRIC_KIND_HISTOGRAM: HISTOGRAM } = MetricKind;

function metric(fields: Partial<AppMetric> & Pick<AppMetric, 'name' | 'kind'>): AppMetric {
  return { value: 0, count: 0, bounds: [], buckets: [], sum: 0, help: '', ...fields };
}

const histo = (name: string, bounds: number[], buckets: number[], sum: number, help = ''): AppMetric =>
  metric({ name, kind: HISTOGRAM, bounds, buckets, sum, count: buckets.reduce((a, b) => a + b, 0), value: sum / buckets.reduce((a, b) => a + b, 0), help });

test('counters add up, value and count', () => {
  const out = aggregateMetrics([
    [metric({ name: 'jobs', kind: COUNTER, value: 10, help: 'jobs done' })],
    [metric({ name: 'jobs', kind: COUNTER, value: 20 })],
    [],
    [metric({ name: 'jobs', kind: COUNTER, value: 12.5 })],
  ]);
  assert.deepEqual(out, [metric({ name: 'jobs', kind: COUNTER, value: 42.5, help: 'jobs done' })]);
});

test('meters: rates add up (the app’s events per second), counts add up', () => {
  const out = aggregateMetrics([
    [metric({ name: 'req', kind: METER, value: 1.5, count: 100 })],
    [metric({ name: 'req', kind: METER, value: 2.25, count: 50, help: 'requests' })],
  ]);
  assert.deepEqual(out, [metric({ name: 'req', kind: METER, value: 3.75, count: 150, help: 'requests' })]);
});

test('gauges add up; count says how many instances reported one', () => {
  const out = aggregateMetrics([
    [metric({ name: 'conns', kind: GAUGE, value: 3, count: 1 })],
    [metric({ name: 'conns', kind: GAUGE, value: -1, count: 1 })],
    [metric({ name: 'conns', kind: GAUGE, value: 7, count: 1 })],
  ]);
  assert.deepEqual(out, [metric({ name: 'conns', kind: GAUGE, value: 9, count: 3 })]);
});

test('histograms with the same bounds merge bucket by bucket; value is the merged mean', () => {
  const out = aggregateMetrics([
    [histo('ms', [10, 100], [1, 0, 0], 5)],
    [histo('ms', [10, 100], [0, 2, 1], 50 + 60 + 500, 'latency')],
  ]);
  assert.deepEqual(out, [
    metric({ name: 'ms', kind: HISTOGRAM, bounds: [10, 100], buckets: [1, 2, 1], count: 4, sum: 615, value: 615 / 4, help: 'latency' }),
  ]);
});

test('an empty merged histogram has mean 0', () => {
  const out = aggregateMetrics([[histo('ms', [1], [0, 0], 0)], [histo('ms', [1], [0, 0], 0)]]);
  assert.equal(out[0]!.value, 0);
  assert.equal(out[0]!.count, 0);
});

test('histograms with other bounds: the bounds most instances report win, the rest are left out and said so', () => {
  const out = aggregateMetrics([
    [histo('ms', [5], [1, 0], 1, 'latency')], // instance 0: a new release with other buckets
    [histo('ms', [10, 100], [1, 0, 0], 2)],
    [histo('ms', [10, 100], [0, 1, 0], 20)],
  ]);
  assert.equal(out.length, 1);
  assert.deepEqual(out[0]!.bounds, [10, 100]);
  assert.deepEqual(out[0]!.buckets, [1, 1, 0]);
  assert.equal(out[0]!.count, 2);
  assert.equal(out[0]!.sum, 22);
  assert.equal(out[0]!.help, 'latency [1 of 3 instances left out: 1 with other bucket bounds]');
});

test('a tie between bounds keeps those of the lowest-numbered instance', () => {
  const out = aggregateMetrics([[histo('ms', [5], [1, 0], 1)], [histo('ms', [10], [0, 1], 20)]]);
  assert.deepEqual(out[0]!.bounds, [5]);
  assert.deepEqual(out[0]!.buckets, [1, 0]);
  assert.equal(out[0]!.help, '[1 of 2 instances left out: 1 with other bucket bounds]');
});

test('one name as two kinds: the majority kind is kept, never a sum across kinds', () => {
  const out = aggregateMetrics([
    [metric({ name: 'x', kind: GAUGE, value: 100, count: 1 })],
    [metric({ name: 'x', kind: COUNTER, value: 1 })],
    [metric({ name: 'x', kind: COUNTER, value: 2 })],
  ]);
  assert.deepEqual(out, [metric({ name: 'x', kind: COUNTER, value: 3, help: '[1 of 3 instances left out: 1 as another kind]' })]);
});

test('every kind at once, sorted by name; the input is not changed', () => {
  const a = [
    metric({ name: 'z_req', kind: METER, value: 1, count: 5 }),
    metric({ name: 'a_jobs', kind: COUNTER, value: 1 }),
    histo('m_ms', [1, 2], [1, 1, 1], 6),
  ];
  const b = [metric({ name: 'g_conns', kind: GAUGE, value: 2, count: 1 }), metric({ name: 'a_jobs', kind: COUNTER, value: 4 }), histo('m_ms', [1, 2], [0, 0, 2], 10)];
  const before = JSON.stringify([a, b]);
  const out = aggregateMetrics([a, b]);
  assert.deepEqual(out.map((m) => [m.name, m.kind, m.value]), [
    ['a_jobs', COUNTER, 5],
    ['g_conns', GAUGE, 2],
    ['m_ms', HISTOGRAM, 16 / 5],
    ['z_req', METER, 1],
  ]);
  assert.deepEqual(out[2]!.buckets, [1, 1, 3]);
  assert.equal(JSON.stringify([a, b]), before);
  assert.deepEqual(aggregateMetrics([]), []);
});
