import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Registry } from '../src/registry';

test('same name, same metric; same name as another kind throws', () => {
  const r = new Registry();
  const a = r.counter('jobs', { help: 'jobs done' });
  a.inc(2);
  r.counter('jobs').inc();
  assert.equal(a.value, 3);
  assert.throws(() => r.gauge('jobs'), /jobs is already a counter, not a gauge/);
  assert.throws(() => r.counter(''), TypeError);
  assert.equal(r.size, 1);
});

test('snapshot: every kind, in the order made', () => {
  let t = 0;
  const r = new Registry({ now: () => t });
  r.counter('c', { help: 'a counter' }).inc(5);
  const g = r.gauge('g');
  g.set(10);
  g.dec(3);
  g.inc();
  r.meter('m').mark(4);
  r.histogram('h', { buckets: [1, 2] }).observe(1.5);
  r.gauge('collected', { collect: () => 7 });
  r.gauge('broken', {
    collect: () => {
      throw new Error('boom');
    },
  });
  t = 2000;
  assert.deepEqual(r.snapshot(), [
    { name: 'c', kind: 'counter', value: 5, help: 'a counter' },
    { name: 'g', kind: 'gauge', value: 8, help: '' },
    { name: 'm', kind: 'meter', value: 2, count: 4, help: '' },
    { name: 'h', kind: 'histogram', value: 1.5, count: 1, bounds: [1, 2], buckets: [0, 1, 0], sum: 1.5, help: '' },
    { name: 'collected', kind: 'gauge', value: 7, help: '' },
    { name: 'broken', kind: 'gauge', value: 0, help: '' },
  ]);
});

test('counters ignore negative and non-finite increments', () => {
  const c = new Registry().counter('c');
  c.inc(-1);
  c.inc(Number.NaN);
  c.inc(0.5);
  assert.equal(c.value, 0.5);
});

test('onFirstMetric runs once, when the first metric is made', () => {
  let calls = 0;
  const r = new Registry({ onFirstMetric: () => calls++ });
  assert.equal(calls, 0);
  r.counter('a');
  r.counter('a');
  r.gauge('b');
  assert.equal(calls, 1);
});
