import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { InstanceStatus, type InstanceEvent } from '@fleet/protocol/runner';
import {
  IllegalTransitionError,
  InstanceLifecycle,
  LIFECYCLE_STATUSES,
  statusLabel,
} from '../../src/runner/instance-state';

const {
  INSTANCE_STATUS_LAUNCHING: LAUNCHING,
  INSTANCE_STATUS_ONLINE: ONLINE,
  INSTANCE_STATUS_STOPPING: STOPPING,
  INSTANCE_STATUS_STOPPED: STOPPED,
  INSTANCE_STATUS_ERRORED: ERRORED,
  INSTANCE_STATUS_WAITING_RESTART: WAITING_RESTART,
} = InstanceStatus;

/** A clock the test moves by hand. */
function manualClock(start = 1_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

// Every legal move, written out again rather than read from the module, so a
// change to the table has to change this test too.
const LEGAL: Record<string, InstanceStatus[]> = {
  [LAUNCHING]: [ONLINE, STOPPING, STOPPED, ERRORED, WAITING_RESTART],
  [ONLINE]: [STOPPING, WAITING_RESTART, STOPPED, ERRORED],
  [STOPPING]: [STOPPED],
  [WAITING_RESTART]: [LAUNCHING, STOPPED, STOPPING],
  [STOPPED]: [LAUNCHING],
  [ERRORED]: [LAUNCHING, STOPPED],
};

test('starts in LAUNCHING at the clock time, with no event', () => {
  const clock = manualClock(500);
  const life = new InstanceLifecycle(clock.now);
  assert.equal(life.status, LAUNCHING);
  assert.equal(life.since, 500);
  assert.deepEqual(life.events, []);
});

test('exactly the documented moves are legal, from every status to every status', () => {
  const targets = [...LIFECYCLE_STATUSES, InstanceStatus.INSTANCE_STATUS_UNKNOWN];
  assert.deepEqual([...LIFECYCLE_STATUSES].sort(), Object.keys(LEGAL).sort());
  for (const from of LIFECYCLE_STATUSES) {
    for (const to of targets) {
      const life = new InstanceLifecycle(() => 0, from);
      const legal = LEGAL[from]!.includes(to);
      assert.equal(life.canTransition(to), legal, `${from} -> ${to}`);
      if (legal) {
        life.transition(to, 'test');
        assert.equal(life.status, to);
      } else {
        assert.throws(
          () => life.transition(to, 'test'),
          (err: unknown) =>
            err instanceof IllegalTransitionError && err.from === from && err.to === to && err.reason === 'test',
        );
        assert.equal(life.status, from, 'an illegal move changes nothing');
        assert.deepEqual(life.events, []);
      }
    }
  }
});

test('a crash, a backoff, a relaunch, a stop: events with times, oldest first', () => {
  const clock = manualClock(0);
  const life = new InstanceLifecycle(clock.now);
  clock.advance(120);
  life.transition(ONLINE, 'ready');
  clock.advance(5000);
  life.transition(WAITING_RESTART, 'exited with code 1 after 5 s; restart in 100 ms (1/16)');
  clock.advance(100);
  life.transition(LAUNCHING, 'restart delay over');
  clock.advance(80);
  life.transition(ONLINE, 'ready');
  clock.advance(1000);
  life.transition(STOPPING, 'fleet stop');
  clock.advance(30);
  const last = life.transition(STOPPED, 'exited on SIGINT');

  assert.deepEqual(
    life.events.map((e) => [e.timeMs, statusLabel(e.from), statusLabel(e.to)]),
    [
      [120, 'launching', 'online'],
      [5120, 'online', 'waiting-restart'],
      [5220, 'waiting-restart', 'launching'],
      [5300, 'launching', 'online'],
      [6300, 'online', 'stopping'],
      [6330, 'stopping', 'stopped'],
    ],
  );
  assert.deepEqual(last, { timeMs: 6330, from: STOPPING, to: STOPPED, reason: 'exited on SIGINT' });
  assert.equal(life.since, 6330);
});

test('the history is bounded: the oldest events go first', () => {
  const clock = manualClock(0);
  const life = new InstanceLifecycle(clock.now, STOPPED, 3);
  for (let i = 0; i < 5; i++) {
    clock.advance(1);
    life.transition(life.status === STOPPED ? LAUNCHING : STOPPED, `move ${i}`);
  }
  assert.deepEqual(
    life.events.map((e) => e.reason),
    ['move 2', 'move 3', 'move 4'],
  );
  assert.equal(new InstanceLifecycle(() => 0).events.length, 0);
});

test('the default history keeps 20 events', () => {
  const life = new InstanceLifecycle(() => 0, STOPPED);
  for (let i = 0; i < 25; i++) life.transition(life.status === STOPPED ? LAUNCHING : STOPPED, `${i}`);
  assert.equal(life.events.length, 20);
  assert.equal(life.events[0]!.reason, '5');
});

test('events cannot be changed from outside', () => {
  const life = new InstanceLifecycle(() => 0);
  life.transition(ONLINE, 'ready');
  life.events.pop();
  assert.equal(life.events.length, 1);
  assert.throws(() => {
    (life.events[0] as { reason: string }).reason = 'rewritten';
  }, TypeError);
});

test('onTransition sees each event after the status changed; a throwing callback does not undo the move', () => {
  const seen: Array<[InstanceEvent, InstanceStatus]> = [];
  const life: InstanceLifecycle = new InstanceLifecycle(() => 7, LAUNCHING, 20, (e) => {
    seen.push([e, life.status]);
  });
  const event = life.transition(ONLINE, 'ready');
  assert.deepEqual(seen, [[event, ONLINE]]);

  const failing = new InstanceLifecycle(() => 7, LAUNCHING, 20, () => {
    throw new Error('disk full');
  });
  assert.throws(() => failing.transition(ONLINE, 'ready'), /disk full/);
  assert.equal(failing.status, ONLINE);
});

test('rejects a wire-only initial status and a bad maxEvents', () => {
  assert.throws(() => new InstanceLifecycle(() => 0, InstanceStatus.INSTANCE_STATUS_UNKNOWN), RangeError);
  assert.throws(() => new InstanceLifecycle(() => 0, LAUNCHING, -1), RangeError);
  assert.throws(() => new InstanceLifecycle(() => 0, LAUNCHING, 1.5), RangeError);
});

test('IllegalTransitionError names the instance and both states', () => {
  const life = new InstanceLifecycle(() => 0, STOPPING, 20, undefined, 'api#2');
  assert.throws(
    () => life.transition(ONLINE, 'ready'),
    (e: unknown) => {
      assert.ok(e instanceof IllegalTransitionError);
      assert.equal(e.name, 'IllegalTransitionError');
      assert.equal(e.message, 'api#2: illegal instance transition stopping -> online (ready)');
      assert.equal(e.label, 'api#2');
      return true;
    },
  );
});

test('FLEET_TRACE=state traces OLD -> NEW (reason) to stderr', () => {
  const saved = process.env.FLEET_TRACE;
  const write = process.stderr.write;
  const lines: string[] = [];
  process.stderr.write = ((chunk: string) => {
    lines.push(chunk);
    return true;
  }) as typeof process.stderr.write;
  try {
    process.env.FLEET_TRACE = 'reload,state';
    new InstanceLifecycle(() => 0, LAUNCHING, 20, undefined, 'api#0').transition(ONLINE, 'ready');
    process.env.FLEET_TRACE = 'reload,statex';
    new InstanceLifecycle(() => 0).transition(ONLINE, 'ready');
  } finally {
    process.stderr.write = write;
    if (saved === undefined) delete process.env.FLEET_TRACE;
    else process.env.FLEET_TRACE = saved;
  }
  assert.deepEqual(lines, ['[fleet state] api#0 launching -> online (ready)\n']);
});

test('statusLabel', () => {
  assert.equal(statusLabel(WAITING_RESTART), 'waiting-restart');
  assert.equal(statusLabel(ONLINE), 'online');
});

/** mulberry32, as in restart-policy.test.ts. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

test('property: on random walks, status is the last event, events chain, times never go back', () => {
  for (let seed = 1; seed <= 200; seed++) {
    const rand = prng(seed);
    const clock = manualClock(0);
    const maxEvents = Math.floor(rand() * 10);
    const notified: InstanceEvent[] = [];
    const life = new InstanceLifecycle(clock.now, LAUNCHING, maxEvents, (e) => notified.push(e));
    let legalMoves = 0;
    for (let step = 0; step < 100; step++) {
      clock.advance(Math.floor(rand() * 1000));
      const to = LIFECYCLE_STATUSES[Math.floor(rand() * LIFECYCLE_STATUSES.length)]!;
      const before = life.status;
      if (life.canTransition(to)) {
        life.transition(to, `step ${step}`);
        legalMoves++;
        assert.equal(life.since, clock.now());
      } else {
        assert.throws(() => life.transition(to, 'x'), IllegalTransitionError);
        assert.equal(life.status, before);
      }
    }
    const at = `seed ${seed}`;
    assert.equal(notified.length, legalMoves, at);
    const events = life.events;
    assert.equal(events.length, Math.min(maxEvents, legalMoves), at);
    assert.deepEqual(events, notified.slice(notified.length - events.length), at);
    if (events.length > 0) assert.equal(events[events.length - 1]!.to, life.status, at);
    for (let i = 1; i < events.length; i++) {
      assert.equal(events[i]!.from, events[i - 1]!.to, `${at}: events chain`);
      assert.ok(events[i]!.timeMs >= events[i - 1]!.timeMs, `${at}: time order`);
    }
  }
});
