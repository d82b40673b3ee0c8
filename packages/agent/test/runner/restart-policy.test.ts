import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import type { RestartSpec } from '@fleet/protocol/runner';
import {
  MAX_BACKOFF_MS,
  decideRestart,
  formatDuration,
  historyForUserStart,
  initialHistory,
  memoryExceeded,
  stabilityWindowMs,
  type ExitInfo,
  type RestartDecision,
  type RestartHistory,
} from '../../src/runner/restart-policy';

/** PM2's defaults plus fleet's stable_after. */
function policy(overrides: Partial<RestartSpec> = {}): RestartSpec {
  return {
    autorestart: true,
    maxRestarts: 16,
    minUptimeMs: 1000,
    restartDelayMs: 0,
    expBackoffRestartDelayMs: 0,
    stopExitCodes: [],
    stableAfterMs: 30_000,
    maxMemoryBytes: 0,
    memoryCheckIntervalMs: 0,
    cronRestart: '',
    ...overrides,
  };
}

const crash = (uptimeMs: number, code: number | null = 1, signal: string | null = null): ExitInfo => ({
  code,
  signal,
  uptimeMs,
});

/** Feeds exits in order, threading the history as the runner would. */
function run(p: RestartSpec, exits: ExitInfo[], start = initialHistory()): RestartDecision[] {
  let history = start;
  return exits.map((exit) => {
    const d = decideRestart(p, history, exit);
    history = d.history;
    return d;
  });
}

test('autorestart off: stop, no restart counted', () => {
  const d = decideRestart(policy({ autorestart: false }), initialHistory(), crash(100));
  assert.equal(d.action, 'stop');
  assert.equal(d.history.restarts, 0);
  assert.equal(d.reason, 'exited with code 1 after 100 ms; autorestart is off');
});

test('a stop exit code stops; a signal exit never matches one', () => {
  const p = policy({ stopExitCodes: [0, 3] });
  assert.equal(decideRestart(p, initialHistory(), crash(5000, 3)).action, 'stop');
  assert.equal(decideRestart(p, initialHistory(), crash(5000, 0)).action, 'stop');
  assert.equal(decideRestart(p, initialHistory(), crash(5000, 1)).action, 'restart');
  const killed = decideRestart(p, initialHistory(), crash(5000, null, 'SIGKILL'));
  assert.equal(killed.action, 'restart');
  assert.match(killed.reason, /^killed by SIGKILL after 5 s;/);
});

test('max_restarts 16: 15 restarts, the 16th unstable exit in a row errors', () => {
  const decisions = run(policy(), Array.from({ length: 16 }, () => crash(230)));
  assert.deepEqual(
    decisions.map((d) => d.action),
    [...Array<string>(15).fill('restart'), 'errored'],
  );
  assert.equal(decisions[14]!.reason, 'exited with code 1 after 230 ms; restart in 0 ms (15/16)');
  const last = decisions[15]!;
  assert.deepEqual(last.history, { consecutiveUnstable: 16, lastBackoffMs: 0, restarts: 15 });
  assert.equal(
    last.reason,
    'exited with code 1 after 230 ms; 16 unstable exits in a row (each run under 30 s), not restarting',
  );
});

test('a slow crash loop (runs above min_uptime, under stable_after) still errors', () => {
  // PM2 would restart this one forever: every run outlives min_uptime.
  const decisions = run(policy({ maxRestarts: 3 }), [crash(20_000), crash(25_000), crash(29_999)]);
  assert.deepEqual(
    decisions.map((d) => d.action),
    ['restart', 'restart', 'errored'],
  );
});

test('the stability window is max(min_uptime, stable_after), and its edge is stable', () => {
  assert.equal(stabilityWindowMs(policy({ minUptimeMs: 1000, stableAfterMs: 30_000 })), 30_000);
  assert.equal(stabilityWindowMs(policy({ minUptimeMs: 40_000, stableAfterMs: 30_000 })), 40_000);
  assert.equal(stabilityWindowMs(policy({ minUptimeMs: 500, stableAfterMs: 0 })), 500);

  const p = policy({ minUptimeMs: 40_000, maxRestarts: 2 });
  const unstable = decideRestart(p, initialHistory(), crash(39_999));
  assert.equal(unstable.history.consecutiveUnstable, 1);
  const stable = decideRestart(p, unstable.history, crash(40_000));
  assert.equal(stable.action, 'restart');
  assert.equal(stable.history.consecutiveUnstable, 0);
  assert.match(stable.reason, /\(stable run\)$/);
});

test('a stable run resets the crash count: a full max_restarts again', () => {
  const p = policy({ maxRestarts: 4 });
  const decisions = run(p, [
    crash(100), crash(100), crash(100), // 3/4
    crash(60_000), // stable: back to 0
    crash(100), crash(100), crash(100), crash(100),
  ]);
  assert.deepEqual(
    decisions.map((d) => d.action),
    ['restart', 'restart', 'restart', 'restart', 'restart', 'restart', 'restart', 'errored'],
  );
  assert.equal(decisions[7]!.history.restarts, 7);
});

test('exponential backoff: base, x1.5 per unstable exit, capped at 15 s, reset by a stable run', () => {
  const p = policy({ expBackoffRestartDelayMs: 100, restartDelayMs: 9999, maxRestarts: 100 });
  const unstableRuns = Array.from({ length: 12 }, () => crash(50));
  const decisions = run(p, [...unstableRuns, crash(30_000), crash(50)]);
  const delays = decisions.map((d) => (d.action === 'restart' ? d.delayMs : -1));
  assert.deepEqual(delays, [
    100, 150, 225, 338, 507, 761, 1142, 1713, 2570, 3855, 5783, 8675, // grows; restart_delay ignored
    100, // stable run: a new series from the base
    150,
  ]);
  const capped = run(p, Array.from({ length: 20 }, () => crash(50)));
  const last = capped[19]!;
  assert.equal(last.action === 'restart' && last.delayMs, MAX_BACKOFF_MS);
  assert.equal(last.history.lastBackoffMs, MAX_BACKOFF_MS);
});

test('exponential backoff: a base above the cap is capped from the first delay', () => {
  const d = decideRestart(policy({ expBackoffRestartDelayMs: 20_000 }), initialHistory(), crash(50));
  assert.equal(d.action === 'restart' && d.delayMs, MAX_BACKOFF_MS);
});

test('fixed delay: restart_delay every time, no backoff state', () => {
  const decisions = run(policy({ restartDelayMs: 2500 }), [crash(10), crash(10), crash(50_000)]);
  for (const d of decisions) {
    assert.equal(d.action === 'restart' && d.delayMs, 2500);
    assert.equal(d.history.lastBackoffMs, 0);
  }
  assert.equal(decisions[0]!.reason, 'exited with code 1 after 10 ms; restart in 2.5 s (1/16)');
});

test('max_restarts 0 or 1: the first unstable exit errors, a stable one restarts', () => {
  for (const maxRestarts of [0, 1]) {
    const p = policy({ maxRestarts });
    assert.equal(decideRestart(p, initialHistory(), crash(10)).action, 'errored');
    assert.equal(decideRestart(p, initialHistory(), crash(30_000)).action, 'restart');
  }
});

test('autorestart off and stop codes win over the crash-loop limit', () => {
  const looping: RestartHistory = { consecutiveUnstable: 15, lastBackoffMs: 0, restarts: 15 };
  assert.equal(decideRestart(policy({ autorestart: false }), looping, crash(10)).action, 'stop');
  assert.equal(decideRestart(policy({ stopExitCodes: [1] }), looping, crash(10)).action, 'stop');
  assert.equal(decideRestart(policy(), looping, crash(10)).action, 'errored');
});

test('decideRestart does not mutate the history it is given', () => {
  const h = Object.freeze(initialHistory());
  const d = decideRestart(policy({ expBackoffRestartDelayMs: 100 }), h, crash(10));
  assert.deepEqual(h, initialHistory());
  assert.notEqual(d.history, h);
});

test('historyForUserStart: a new series, same restart total', () => {
  assert.deepEqual(historyForUserStart({ consecutiveUnstable: 16, lastBackoffMs: 900, restarts: 15 }), {
    consecutiveUnstable: 0,
    lastBackoffMs: 0,
    restarts: 15,
  });
});

test('memoryExceeded: off at 0, strictly above the limit', () => {
  assert.equal(memoryExceeded(policy({ maxMemoryBytes: 0 }), 10 ** 12), false);
  assert.equal(memoryExceeded(policy({ maxMemoryBytes: 1000 }), 1000), false);
  assert.equal(memoryExceeded(policy({ maxMemoryBytes: 1000 }), 1001), true);
});

test('formatDuration', () => {
  assert.equal(formatDuration(0), '0 ms');
  assert.equal(formatDuration(999), '999 ms');
  assert.equal(formatDuration(1000), '1 s');
  assert.equal(formatDuration(4250), '4.3 s');
  assert.equal(formatDuration(60_000), '1 min');
  assert.equal(formatDuration(185_000), '3 min 5 s');
  assert.equal(formatDuration(7_800_000), '2 h 10 min');
});

// --- properties (STYLE 13) -------------------------------------------------

/** mulberry32: small, seeded, good enough to pick test cases. */
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

function randomCase(rand: () => number) {
  const int = (max: number) => Math.floor(rand() * (max + 1));
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length - 1)]!;
  const p = policy({
    autorestart: rand() < 0.9,
    maxRestarts: int(20),
    minUptimeMs: int(5000),
    stableAfterMs: pick([0, int(60_000)]),
    restartDelayMs: pick([0, int(30_000)]),
    expBackoffRestartDelayMs: pick([0, int(20_000)]),
    stopExitCodes: [0, 2, 3].filter(() => rand() < 0.3),
  });
  const window = stabilityWindowMs(p);
  const exits = Array.from({ length: 1 + int(60) }, (): ExitInfo & { userStartAfter: boolean } => {
    const signal = rand() < 0.15 ? pick(['SIGKILL', 'SIGSEGV', 'SIGTERM']) : null;
    return {
      code: signal === null ? pick([0, 1, 2, 3, 137]) : null,
      signal,
      // Mostly crash loops, with the window's edges and some stable runs.
      uptimeMs: pick([0, int(window), int(window), Math.max(0, window - 1), window, window + int(100_000)]),
      userStartAfter: rand() < 0.05,
    };
  });
  return { p, exits };
}

test('properties: random policies and exit sequences', () => {
  for (let seed = 1; seed <= 500; seed++) {
    const { p, exits } = randomCase(prng(seed));
    const window = stabilityWindowMs(p);
    const limit = Math.max(1, p.maxRestarts);
    const maxDelay = Math.max(p.restartDelayMs, MAX_BACKOFF_MS);
    let history = initialHistory();
    let unstableInARow = 0; // the test's own model, kept apart from the code's
    let restartDecisions = 0;
    let previousDelay = -1;

    exits.forEach((exit, i) => {
      const at = `seed ${seed}, exit ${i}, policy ${JSON.stringify(p)}, exit ${JSON.stringify(exit)}`;
      const unstable = exit.uptimeMs < window;
      unstableInARow = unstable ? unstableInARow + 1 : 0;
      if (!unstable) previousDelay = -1; // a stable run starts a new backoff series
      const done = !p.autorestart || (exit.code !== null && p.stopExitCodes.includes(exit.code));
      const d = decideRestart(p, history, exit);

      assert.equal(d.history.consecutiveUnstable, unstableInARow, `crash count: ${at}`);
      if (done) assert.equal(d.action, 'stop', at);
      // Never errored before max_restarts unstable exits in a row; always errored at it.
      const loop = !done && unstable && unstableInARow >= limit;
      assert.equal(d.action === 'errored', loop, `errored boundary: ${at}`);

      if (d.action === 'restart') {
        restartDecisions++;
        assert.ok(d.delayMs >= 0 && d.delayMs <= maxDelay, `delay ${d.delayMs} > ${maxDelay}: ${at}`);
        assert.ok(Number.isInteger(d.delayMs), `integer delay: ${at}`);
        if (p.expBackoffRestartDelayMs > 0) {
          if (!unstable) {
            // A stable run resets the backoff exactly, whatever came before.
            assert.equal(d.delayMs, Math.min(p.expBackoffRestartDelayMs, MAX_BACKOFF_MS), `reset: ${at}`);
          } else if (previousDelay >= 0) {
            assert.ok(d.delayMs >= previousDelay, `backoff shrank: ${at}`);
          }
          previousDelay = d.delayMs;
        } else {
          assert.equal(d.delayMs, p.restartDelayMs, `fixed delay: ${at}`);
        }
      }
      assert.equal(d.history.restarts, restartDecisions, `restarts counts restart decisions: ${at}`);

      history = d.history;
      if (exit.userStartAfter) {
        history = historyForUserStart(history);
        unstableInARow = 0;
        previousDelay = -1;
      }
    });
  }
});
