import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_BUCKETS, Histogram } from '../src/histogram';

test('an observation goes into the first bucket whose bound is >= it, else +Inf', () => {
  const h = new Histogram('size', { buckets: [10, 100, 1000] });
  for (const v of [0, 10, 10.5, 100, 999, 1000, 1001, 5e9, -3]) h.observe(v);
  const s = h.snapshot();
  assert.deepEqual(s.bounds, [10, 100, 1000]);
  // <=10: 0, 10, -3 | <=100: 10.5, 100 | <=1000: 999, 1000 | +Inf: 1001, 5e9
  assert.deepEqual(s.buckets, [3, 2, 2, 2]);
  assert.equal(s.count, 9);
  assert.equal(s.sum, 0 + 10 + 10.5 + 100 + 999 + 1000 + 1001 + 5e9 - 3);
  assert.equal(s.value, s.sum! / 9, 'value is the mean');
});

test('default buckets: milliseconds from 1 to 10 000, ascending', () => {
  const h = new Histogram('latency');
  h.observe(0.2);
  h.observe(42);
  h.observe(60_000);
  const s = h.snapshot();
  assert.deepEqual(s.bounds, [...DEFAULT_BUCKETS]);
  assert.equal(s.buckets!.length, DEFAULT_BUCKETS.length + 1);
  assert.equal(s.buckets![0], 1, '0.2 ms in the first bucket (<= 1)');
  assert.equal(s.buckets![DEFAULT_BUCKETS.indexOf(50)], 1, '42 ms in the <= 50 bucket');
  assert.equal(s.buckets!.at(-1), 1, '60 s in +Inf');
  assert.ok(DEFAULT_BUCKETS.every((b, i) => i === 0 || b > DEFAULT_BUCKETS[i - 1]));
});

test('empty: mean 0; non-finite observations ignored', () => {
  const h = new Histogram('x', { buckets: [1] });
  assert.equal(h.snapshot().value, 0);
  h.observe(Number.NaN);
  h.observe(Infinity);
  assert.equal(h.count, 0);
  assert.deepEqual(h.snapshot().buckets, [0, 0]);
});

test('bad bucket lists are refused when the histogram is made', () => {
  for (const buckets of [[], [2, 1], [1, 1], [1, Number.NaN], [1, Infinity], new Array(65).fill(0).map((_, i) => i)]) {
    assert.throws(() => new Histogram('x', { buckets }), RangeError, JSON.stringify(buckets));
  }
});

test('the snapshot is a copy: later observations do not change a sent one', () => {
  const h = new Histogram('x', { buckets: [1] });
  const before = h.snapshot();
  h.observe(0);
  assert.deepEqual(before.buckets, [0, 0]);
});
