import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { planPrune } from '../../src/releases/prune-plan';

test('keeps the newest `keep` and deletes the rest, ascending', () => {
  assert.deepEqual(planPrune([1, 2, 3, 4, 5, 6], 3, []), [1, 2, 3]);
});

test('nothing to delete when there are no more than `keep`', () => {
  assert.deepEqual(planPrune([1, 2, 3], 3, []), []);
  assert.deepEqual(planPrune([4, 7], 5, []), []);
  assert.deepEqual(planPrune([], 2, [3]), []);
});

test('a protected version inside the window takes one of its slots', () => {
  assert.deepEqual(planPrune([1, 2, 3, 4, 5], 2, [5, 4]), [1, 2, 3]);
  assert.deepEqual(planPrune([1, 2, 3, 4, 5], 2, [4]), [1, 2, 3]);
});

test('a protected version older than the window is kept in addition, not instead of a newer one', () => {
  // running 2 (a rollback), last good 1: the two newest stay as well.
  assert.deepEqual(planPrune([1, 2, 3, 4, 5], 2, [2, 1]), [3]);
  assert.deepEqual(planPrune([1, 2, 3, 4, 5], 2, [1]), [2, 3]);
});

test('keep 1 leaves the newest and the protected ones', () => {
  assert.deepEqual(planPrune([1, 2, 3, 4], 1, []), [1, 2, 3]);
  assert.deepEqual(planPrune([1, 2, 3, 4], 1, [4, 3]), [1, 2]);
  assert.deepEqual(planPrune([1, 2, 3, 4], 1, [2]), [1, 3]);
});

test('keep 0 (or negative) deletes every unprotected version', () => {
  assert.deepEqual(planPrune([1, 2, 3], 0, []), [1, 2, 3]);
  assert.deepEqual(planPrune([1, 2, 3], 0, [2]), [1, 3]);
  assert.deepEqual(planPrune([1, 2, 3], -4, [3]), [1, 2]);
});

test('a fractional keep rounds down; NaN deletes nothing; Infinity keeps all', () => {
  assert.deepEqual(planPrune([1, 2, 3, 4], 2.9, []), [1, 2]);
  assert.deepEqual(planPrune([1, 2, 3, 4], Number.NaN, []), []);
  assert.deepEqual(planPrune([1, 2, 3, 4], Number.POSITIVE_INFINITY, []), []);
});

test('unsorted input with duplicates: each version once, ascending', () => {
  assert.deepEqual(planPrune([5, 1, 3, 5, 2, 1, 4], 2, []), [1, 2, 3]);
  // Duplicates do not use up slots of the window.
  assert.deepEqual(planPrune([3, 3, 3, 2, 1], 2, []), [1]);
});

test('duplicate and unknown protected versions change nothing', () => {
  assert.deepEqual(planPrune([1, 2, 3, 4], 2, [1, 1, 9, 0]), [2]);
});

test('property: never deletes a protected or a window version; keeps at most keep + protected', () => {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  for (let i = 0; i < 500; i++) {
    const versions = Array.from({ length: rnd(12) }, () => 1 + rnd(15));
    const protect = Array.from({ length: rnd(3) }, () => 1 + rnd(15));
    const keep = rnd(6);
    const deleted = planPrune(versions, keep, protect);
    const unique = [...new Set(versions)].sort((a, b) => a - b);
    const kept = unique.filter((v) => !deleted.includes(v));
    for (const v of deleted) assert.ok(unique.includes(v) && !protect.includes(v), `deleted ${v}`);
    for (const v of unique.slice(unique.length - Math.min(keep, unique.length))) assert.ok(kept.includes(v));
    assert.ok(kept.filter((v) => !protect.includes(v)).length <= keep);
    assert.deepEqual(deleted, [...deleted].sort((a, b) => a - b));
  }
});
