import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Meter } from '../src/meter';

/** A clock the test moves by hand. */
function manualClock(start: number) {
  let t = start;
  return { now: () => t, set: (ms: number) => void (t = ms), advance: (ms: number) => void (t += ms) };
}

test('a young meter divides by its age, never by less than a second', () => {
  const clock = manualClock(100_000);
  const m = new Meter('req', {}, clock.now);
  m.mark(10);
  assert.equal(m.rate, 10, 'ten events in the first millisecond are 10/s');
  clock.advance(2000);
  assert.equal(m.rate, 5, 'ten events in two seconds');
  m.mark(); // default n = 1
  assert.equal(m.count, 11);
  clock.advance(500);
  assert.equal(m.rate, 11 / 2.5);
});

test('a full window: events of the last 60 s over the span the window covers', () => {
  const clock = manualClock(0);
  const m = new Meter('req', {}, clock.now);
  // 10 events a second for 120 s: one every 100 ms.
  for (let t = 0; t < 120_000; t += 100) {
    clock.set(t);
    m.mark();
  }
  clock.set(120_000);
  // Window = seconds 61..120: 59 whole seconds of 10 events (61..119), second 120 has none yet.
  assert.equal(m.rate, 590 / 59);
  assert.equal(m.count, 1200);
  clock.set(120_500);
  assert.equal(m.rate, 590 / 59.5);
});

test('the rate falls to 0 one window after the last event; the count stays', () => {
  const clock = manualClock(0);
  const m = new Meter('req', { windowSeconds: 10 }, clock.now);
  clock.set(5_000);
  m.mark(30);
  clock.set(14_999);
  assert.equal(m.rate, 30 / 9.999, 'second 5 is still inside the window of 10 s ending in second 14');
  clock.set(15_000);
  assert.equal(m.rate, 0);
  clock.set(1_000_000);
  assert.equal(m.rate, 0);
  assert.equal(m.count, 30);
  m.mark(4);
  assert.equal(m.rate, 4 / 9, 'slots left from long ago are cleared, not reused');
});

test('a long gap clears the whole window, a short one only what it passes', () => {
  const clock = manualClock(0);
  const m = new Meter('req', { windowSeconds: 5 }, clock.now);
  for (let s = 0; s < 5; s++) {
    clock.set(s * 1000);
    m.mark(s + 1); // seconds 0..4 hold 1..5
  }
  clock.set(6_000); // window = seconds 2..6: 3 + 4 + 5
  assert.equal(m.rate, 12 / 4);
  clock.set(60_000);
  assert.equal(m.rate, 0);
});

test('a clock going back counts into the newest second; bad marks are ignored', () => {
  const clock = manualClock(10_000);
  const m = new Meter('req', { windowSeconds: 10 }, clock.now);
  clock.set(12_000);
  m.mark(2);
  clock.set(11_000);
  m.mark(3);
  m.mark(-1);
  m.mark(Number.NaN);
  m.mark(Infinity);
  assert.equal(m.count, 5);
  clock.set(12_000);
  assert.equal(m.rate, 5 / 2);
});

test('snapshot carries the rate as value and the total as count', () => {
  const clock = manualClock(0);
  const m = new Meter('req', { help: 'requests' }, clock.now);
  m.mark(6);
  clock.set(3_000);
  assert.deepEqual(m.snapshot(), { name: 'req', kind: 'meter', value: 2, count: 6, help: 'requests' });
  assert.throws(() => new Meter('x', { windowSeconds: 0 }), RangeError);
});
