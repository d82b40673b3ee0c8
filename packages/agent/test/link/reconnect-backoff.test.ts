import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DEFAULT_BACKOFF, reconnectDelay } from '../../src/link/reconnect-backoff';

const low = (): number => 0;
const high = (): number => 0.999999;
const mid = (): number => 0.5;

test('defaults: start at half a second, never more than 15 s', () => {
  assert.deepEqual(DEFAULT_BACKOFF, { baseMs: 500, maxMs: 15_000 });
});

test('the step doubles with each attempt until the cap', () => {
  const steps = Array.from({ length: 8 }, (_, attempt) => reconnectDelay(attempt, high));
  assert.deepEqual(steps, [500, 1_000, 2_000, 4_000, 8_000, 15_000, 15_000, 15_000]);
});

test('jitter: between half the step and the full step', () => {
  for (let attempt = 0; attempt < 12; attempt++) {
    const step = Math.min(15_000, 500 * 2 ** attempt);
    assert.equal(reconnectDelay(attempt, low), step / 2, `attempt ${attempt}, random 0`);
    assert.equal(reconnectDelay(attempt, mid), Math.round(step * 0.75), `attempt ${attempt}, random 0.5`);
    assert.ok(reconnectDelay(attempt, high) <= step);
  }
});

test('jitter spreads a fleet: different random draws give different delays within the bounds', () => {
  const draws = [0, 0.1, 0.25, 0.5, 0.75, 0.9];
  const delays = draws.map((r) => reconnectDelay(3, () => r));
  assert.deepEqual(delays, [2_000, 2_200, 2_500, 3_000, 3_500, 3_800]);
  assert.equal(new Set(delays).size, draws.length);
});

test('never grows without bound, however many attempts; whole milliseconds', () => {
  for (const attempt of [20, 31, 64, 1_000, 1e9]) {
    const d = reconnectDelay(attempt, high);
    assert.ok(Number.isFinite(d));
    assert.ok(d <= 15_000 && d >= 7_500, `attempt ${attempt}: ${d}`);
  }
  assert.ok(Number.isInteger(reconnectDelay(2, () => 0.123456)));
});

test('a custom policy', () => {
  const policy = { baseMs: 100, maxMs: 1_000 };
  assert.deepEqual(
    Array.from({ length: 6 }, (_, a) => reconnectDelay(a, low, policy)),
    [50, 100, 200, 400, 500, 500],
  );
});
