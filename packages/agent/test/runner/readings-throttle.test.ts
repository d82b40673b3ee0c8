import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ReadingsThrottle, type ThrottleClock } from '../../src/runner/readings-throttle';

/** Timers that fire only when the test moves the clock. */
function fakeClock(): ThrottleClock & { advance(ms: number): void; pending(): number } {
  let t = 0;
  let next = 1;
  const timers = new Map<number, { at: number; fn: () => void }>();
  return {
    now: () => t,
    setTimeout(fn, ms) {
      const id = next++;
      timers.set(id, { at: t + ms, fn });
      return id as unknown as NodeJS.Timeout;
    },
    clearTimeout(handle) {
      if (handle !== undefined) timers.delete(handle as unknown as number);
    },
    advance(ms) {
      t += ms;
      for (const [id, timer] of [...timers].sort((a, b) => a[1].at - b[1].at)) {
        if (timer.at <= t) {
          timers.delete(id);
          timer.fn();
        }
      }
    },
    pending: () => timers.size,
  };
}

test('the first readings push at once; more within a second wait for one push', () => {
  const clock = fakeClock();
  const pushes: number[] = [];
  const throttle = new ReadingsThrottle(clock, () => {
    pushes.push(clock.now());
    throttle.pushed(); // as AppRunner.changed() does
  });
  throttle.readingsChanged();
  clock.advance(0);
  assert.deepEqual(pushes, [0]);
  for (let i = 0; i < 50; i++) {
    clock.advance(10);
    throttle.readingsChanged(); // fifty instances reporting
  }
  assert.equal(clock.pending(), 1, 'one push waiting, not fifty');
  clock.advance(500);
  assert.deepEqual(pushes, [0, 1000], 'the next push a second after the last');
});

test('a push for another change carries the readings: the waiting one is cancelled', () => {
  const clock = fakeClock();
  let pushes = 0;
  const throttle = new ReadingsThrottle(clock, () => {
    pushes++;
    throttle.pushed();
  });
  throttle.pushed(); // a status change went out at 0
  clock.advance(100);
  throttle.readingsChanged();
  assert.equal(clock.pending(), 1);
  clock.advance(300);
  throttle.pushed(); // another change at 400, carrying the readings
  assert.equal(clock.pending(), 0);
  clock.advance(5000);
  assert.equal(pushes, 0);
  throttle.readingsChanged();
  clock.advance(0);
  assert.equal(pushes, 1, 'long after the last push: at once');
  throttle.readingsChanged();
  throttle.cancel();
  clock.advance(5000);
  assert.equal(pushes, 1, 'cancelled (runner shutting down)');
});
