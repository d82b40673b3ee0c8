// The restart policy as a user sees it, with real processes: crash loops that
// end in `errored` (fast and slow ones), exits that mean "done", the stop
// signal escalating to SIGKILL, whole process trees going away, readiness that
// means ready, exponential backoff, the memory limit, and the restart counts
// `fleet ls --json` reports for all of it.
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_APP, FleetHome, ROOT, freePort, isAlive, waitFor, type LsRow } from '../harness';

const STUBBORN_CHILD = path.join(ROOT, 'test/fixtures/stubborn-child.js');

interface EventJson {
  timeMs: number;
  from: string;
  to: string;
  reason: string;
}

interface DescribeJson {
  instances: { instance: number; pid: number; status: string; restarts: number; events: EventJson[] }[];
}

/** An ecosystem file with one app running the fixture; `env` steers the fixture. */
function writeConfig(h: FleetHome, app: Record<string, unknown>): string {
  const file = path.join(h.home, `${String(app.name)}.config.js`);
  const full = { script: FIXTURE_APP, ...app };
  fs.writeFileSync(file, `module.exports = { apps: [${JSON.stringify(full, null, 2)}] };\n`);
  return file;
}

function row(h: FleetHome, app: string): LsRow {
  const rows = h.rows(app);
  assert.equal(rows.length, 1, `one instance of ${app}: ${JSON.stringify(rows)}`);
  return rows[0]!;
}

function events(h: FleetHome, app: string): EventJson[] {
  const r = h.fleet(['describe', app, '--json']);
  assert.equal(r.code, 0, r.stderr);
  return r.json<DescribeJson[]>()[0]!.instances[0]!.events;
}

function outLog(h: FleetHome, app: string): string {
  try {
    return fs.readFileSync(path.join(h.home, 'logs', `${app}-out.log`), 'utf8');
  } catch {
    return '';
  }
}

function killQuietly(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    // gone
  }
}

/** Gone, or a zombie nobody reaped yet (a container's pid 1 may not reap): either way not running. */
function isGone(pid: number): boolean {
  if (!isAlive(pid)) return true;
  try {
    return /^\d+ \(.*\) Z/.test(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return true;
  }
}

/**
 * Asserts `check` holds on every sample for `ms`: for "and stays there", which
 * cannot be waited for. Samples are CLI calls, so this is not an idle sleep.
 */
async function holds(ms: number, check: () => void): Promise<void> {
  const end = Date.now() + ms;
  do {
    check();
    await new Promise((r) => setTimeout(r, 50));
  } while (Date.now() < end);
}

describe('restart policy', () => {
  const h = new FleetHome();
  after(() => h.cleanup());

  test('a fast crash loop reaches errored after max_restarts and stays there', async () => {
    const config = writeConfig(h, {
      name: 'crashy',
      max_restarts: 3,
      min_uptime: 500,
      env: { PORT: '0', CRASH_AFTER_MS: '30' },
    });
    const r = h.fleet(['start', config]);
    assert.notEqual(r.code, 0, 'an app that crashes on start is a failed start');
    await waitFor(() => row(h, 'crashy').status === 'errored', { timeoutMs: 10_000, message: 'crashy to be errored' });
    const errored = row(h, 'crashy');
    // PM2's count: the 3rd unstable exit in a row errors, after 2 automatic restarts.
    assert.equal(errored.restarts, 2);
    assert.equal(errored.pid, 0);
    // Several crash cycles' worth of time later: no new process, same counts.
    const crashes = (fs.readFileSync(path.join(h.home, 'logs', 'crashy-error.log'), 'utf8').match(/crashing after/g) ?? []).length;
    assert.equal(crashes, 3, 'three runs, each logged its crash');
    await holds(800, () => {
      const now = row(h, 'crashy');
      assert.deepEqual([now.status, now.pid, now.restarts], ['errored', 0, 2]);
    });
    const last = events(h, 'crashy').at(-1)!;
    assert.equal(last.to, 'errored');
    assert.match(last.reason, /3 unstable exits in a row/);
  });

  test('a slow crash loop (each run longer than min_uptime, shorter than stable_after) still reaches errored', async () => {
    // PM2 would restart this one forever: every run outlives min_uptime.
    const config = writeConfig(h, {
      name: 'slowcrash',
      max_restarts: 3,
      min_uptime: 100,
      stable_after: 3000,
      env: { PORT: '0', CRASH_AFTER_MS: '400' },
    });
    const started = Date.now();
    h.fleet(['start', config]);
    await waitFor(() => row(h, 'slowcrash').status === 'errored', { timeoutMs: 15_000, message: 'slowcrash to be errored' });
    assert.ok(Date.now() - started >= 3 * 400, 'three runs of at least 400 ms each');
    const errored = row(h, 'slowcrash');
    assert.equal(errored.restarts, 2);
    const exits = events(h, 'slowcrash').filter((e) => e.from === 'online');
    assert.equal(exits.length, 3);
    for (const e of exits) {
      const ms = Number(/after ([\d.]+) ms/.exec(e.reason)?.[1] ?? /after ([\d.]+) s/.exec(e.reason)?.[1] ?? NaN);
      assert.ok(!Number.isNaN(ms), `exit reason names the run time: ${e.reason}`);
    }
    assert.match(exits.at(-1)!.reason, /unstable exits in a row \(each run under 3 s\)/);
  });

  test('stable runs reset the crash series: restarts grow past max_restarts, never errored', async () => {
    const config = writeConfig(h, {
      name: 'stable',
      max_restarts: 2,
      min_uptime: 50,
      stable_after: 150,
      env: { PORT: '0', CRASH_AFTER_MS: '250' },
    });
    h.fleet(['start', config]);
    await waitFor(
      () => {
        const now = row(h, 'stable');
        assert.notEqual(now.status, 'errored', 'a series of stable runs must never be errored');
        return now.restarts >= 4;
      },
      { timeoutMs: 15_000, message: 'stable to restart 4 times' },
    );
    // And a user restart counts one more.
    const before = row(h, 'stable').restarts;
    const r = h.fleet(['restart', 'stable']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(row(h, 'stable').restarts >= before + 1);
    assert.equal(h.fleet(['stop', 'stable']).code, 0);
  });

  test('an exit code listed in stop_exit_codes leaves the app stopped, not restarted', async () => {
    const config = writeConfig(h, {
      name: 'done',
      stop_exit_codes: [3],
      env: { PORT: '0', CRASH_AFTER_MS: '150', EXIT_CODE: '3' },
    });
    h.fleet(['start', config]);
    await waitFor(() => row(h, 'done').status === 'stopped', { message: 'done to be stopped' });
    await holds(500, () => {
      const now = row(h, 'done');
      assert.deepEqual([now.status, now.pid, now.restarts], ['stopped', 0, 0]);
    });
    assert.match(events(h, 'done').at(-1)!.reason, /3 is a stop exit code/);
  });

  test('autorestart false: an instance that exits stays stopped', async () => {
    const config = writeConfig(h, {
      name: 'once',
      autorestart: false,
      env: { PORT: '0', CRASH_AFTER_MS: '150' },
    });
    h.fleet(['start', config]);
    await waitFor(() => row(h, 'once').status === 'stopped', { message: 'once to be stopped' });
    await holds(500, () => {
      const now = row(h, 'once');
      assert.deepEqual([now.status, now.pid, now.restarts], ['stopped', 0, 0]);
    });
  });

  test('kill_timeout: an app ignoring SIGINT is SIGKILLed after kill_timeout', async () => {
    const port = await freePort();
    const config = writeConfig(h, {
      name: 'stubborn',
      kill_timeout: 500,
      env: { PORT: String(port), IGNORE_SIGINT: '1' },
    });
    const r = h.fleet(['start', config]);
    assert.equal(r.code, 0, r.stderr);
    // "listening" is printed after the SIGINT handler is installed.
    await waitFor(() => outLog(h, 'stubborn').includes('listening on'), { message: 'stubborn to listen' });
    const pid = row(h, 'stubborn').pid;
    const t0 = Date.now();
    const stop = h.fleet(['stop', 'stubborn']);
    const took = Date.now() - t0;
    assert.equal(stop.code, 0, stop.stderr);
    assert.ok(took >= 480, `stop took ${took} ms; the app ignores SIGINT, so only SIGKILL after 500 ms ends it`);
    assert.ok(took < 1600, `stop took ${took} ms: kill_timeout 500 was not used (default is 1600)`);
    await waitFor(() => isGone(pid), { timeoutMs: 1000, message: `pid ${pid} to be gone` });
    assert.match(outLog(h, 'stubborn'), /ignoring SIGINT/);
    const now = row(h, 'stubborn');
    assert.deepEqual([now.status, now.pid], ['stopped', 0]);
  });

  test('stop kills the whole process tree: no orphaned grandchild', async () => {
    const config = writeConfig(h, { name: 'tree', env: { PORT: '0', SPAWN_CHILD: '1' } });
    assert.equal(h.fleet(['start', config]).code, 0);
    const grandchild = Number(
      (await waitFor(() => /grandchild (\d+)/.exec(outLog(h, 'tree')), { message: 'grandchild pid in the log' }))[1],
    );
    const pid = row(h, 'tree').pid;
    assert.ok(isAlive(grandchild), 'the grandchild runs before the stop');
    const stop = h.fleet(['stop', 'tree']);
    assert.equal(stop.code, 0, stop.stderr);
    await waitFor(() => isGone(pid) && isGone(grandchild), { timeoutMs: 2000, message: `app ${pid} and grandchild ${grandchild} to be gone` });
  });

  // A grandchild outliving its instance's leader (crash, or a leader that obeyed
  // SIGINT while the grandchild ignored it) is killed with the rest of the group.

  test('an instance that crashes on its own takes its grandchild with it', async () => {
    const config = writeConfig(h, { name: 'tree2', autorestart: false, env: { PORT: '0', SPAWN_CHILD: '1', CRASH_AFTER_MS: '300' } });
    h.fleet(['start', config]);
    const grandchild = Number(
      (await waitFor(() => /grandchild (\d+)/.exec(outLog(h, 'tree2')), { message: 'grandchild pid in the log' }))[1],
    );
    try {
      await waitFor(() => row(h, 'tree2').status === 'stopped', { message: 'tree2 to exit' });
      await waitFor(() => isGone(grandchild), { timeoutMs: 2000, message: `grandchild ${grandchild} to be gone` });
    } finally {
      killQuietly(grandchild); // its command line does not name the home: cleanup() would miss it
    }
  });

  test('stop SIGKILLs a grandchild that ignores SIGINT once kill_timeout passes', async () => {
    const config = writeConfig(h, { name: 'tree3', script: STUBBORN_CHILD, kill_timeout: 300, env: {} });
    assert.equal(h.fleet(['start', config]).code, 0);
    const grandchild = Number(
      (await waitFor(() => /grandchild (\d+)/.exec(outLog(h, 'tree3')), { message: 'grandchild pid in the log' }))[1],
    );
    try {
      const stop = h.fleet(['stop', 'tree3']);
      assert.equal(stop.code, 0, stop.stderr);
      await waitFor(() => isGone(grandchild), { timeoutMs: 2000, message: `grandchild ${grandchild} to be gone` });
    } finally {
      killQuietly(grandchild);
    }
  });

  test('wait_ready: an app that never sends ready is never online, and start fails', async () => {
    const config = writeConfig(h, {
      name: 'neverready',
      wait_ready: true,
      listen_timeout: 500,
      max_restarts: 2,
      env: { PORT: '0', WAIT_READY: '1', NEVER_READY: '1' },
    });
    const pending = h.fleetAsync(['start', config]);
    const seen = new Set<string>();
    let done = false;
    void pending.then(() => (done = true));
    while (!done) {
      for (const r of h.rows('neverready')) seen.add(r.status);
      await new Promise((r) => setTimeout(r, 20));
    }
    const r = await pending;
    assert.notEqual(r.code, 0, `start must fail: ${r.stdout}`);
    assert.match(r.stderr + r.stdout, /neverready/);
    assert.ok(seen.has('launching'), `statuses seen: ${[...seen].join(',')}`);
    await waitFor(() => row(h, 'neverready').status === 'errored', { timeoutMs: 10_000, message: 'neverready to be errored' });
    for (const r2 of h.rows('neverready')) seen.add(r2.status);
    assert.ok(!seen.has('online'), `statuses seen: ${[...seen].join(',')}`);
    const evs = events(h, 'neverready');
    assert.deepEqual(evs.filter((e) => e.to === 'online'), [], 'no transition to online, ever');
    // Each launch was given listen_timeout before being killed.
    const launches = evs.filter((e) => e.to === 'launching');
    const ends = evs.filter((e) => e.from === 'launching');
    assert.equal(launches.length, 2);
    for (let i = 0; i < launches.length; i++) {
      assert.ok(ends[i]!.timeMs - launches[i]!.timeMs >= 480, `launch ${i} lasted ${ends[i]!.timeMs - launches[i]!.timeMs} ms`);
    }
  });

  test('wait_ready: launching until the app sends ready, then online', async () => {
    const config = writeConfig(h, {
      name: 'slowready',
      wait_ready: true,
      listen_timeout: 5000,
      env: { PORT: '0', WAIT_READY: '1', READY_DELAY_MS: '800' },
    });
    const pending = h.fleetAsync(['start', config]);
    const seen: string[] = [];
    let done = false;
    void pending.then(() => (done = true));
    while (!done) {
      const s = h.rows('slowready')[0]?.status;
      if (s && seen.at(-1) !== s) seen.push(s);
      await new Promise((r) => setTimeout(r, 20));
    }
    const r = await pending;
    assert.equal(r.code, 0, r.stderr);
    // `fleet start` returns once the app is ready, not before.
    assert.equal(row(h, 'slowready').status, 'online');
    assert.ok(seen.includes('launching'), `statuses seen: ${seen.join(',')}`);
    assert.ok(!seen.slice(0, seen.indexOf('launching')).includes('online'), `statuses seen: ${seen.join(',')}`);
    const evs = events(h, 'slowready');
    const launched = evs.find((e) => e.to === 'launching')!;
    const online = evs.find((e) => e.to === 'online')!;
    assert.equal(online.reason, 'ready');
    assert.ok(online.timeMs - launched.timeMs >= 800, `online ${online.timeMs - launched.timeMs} ms after launch`);
  });

  test('exp_backoff_restart_delay: each restart waits longer than the one before', async () => {
    const config = writeConfig(h, {
      name: 'backoff',
      exp_backoff_restart_delay: 100,
      max_restarts: 5,
      env: { PORT: '0', CRASH_AFTER_MS: '20' },
    });
    h.fleet(['start', config]);
    await waitFor(() => row(h, 'backoff').status === 'errored', { timeoutMs: 15_000, message: 'backoff to be errored' });
    const evs = events(h, 'backoff');
    const delays: number[] = [];
    for (let i = 0; i < evs.length - 1; i++) {
      if (evs[i]!.to === 'waiting-restart' && evs[i + 1]!.from === 'waiting-restart') delays.push(evs[i + 1]!.timeMs - evs[i]!.timeMs);
    }
    assert.equal(delays.length, 4, `delays ${delays.join(',')}`);
    // 100, 150, 225, 338 ms (×1.5 each); timers fire late, never early.
    const expected = [100, 150, 225, 338];
    for (let i = 0; i < delays.length; i++) {
      assert.ok(delays[i]! >= expected[i]! - 5, `delay ${i}: ${delays[i]} ms, expected ≥ ${expected[i]}`);
      if (i > 0) assert.ok(delays[i]! > delays[i - 1]!, `delays must grow: ${delays.join(',')}`);
    }
    assert.deepEqual(
      evs.filter((e) => e.to === 'waiting-restart').map((e) => /restart in (\d+) ms/.exec(e.reason)?.[1]),
      ['100', '150', '225', '338'],
    );
  });

  test('max_memory_restart: an instance over the limit is restarted', async () => {
    const config = writeConfig(h, {
      name: 'leaky',
      max_memory_restart: '100M',
      memory_check_interval: 200,
      listen_timeout: 300,
      env: { PORT: '0', LEAK_MB_PER_S: '40' },
    });
    assert.equal(h.fleet(['start', config]).code, 0);
    const first = row(h, 'leaky');
    assert.equal(first.restarts, 0);
    const replaced = await waitFor(
      () => {
        const now = row(h, 'leaky');
        return now.pid !== first.pid && now.status === 'online' ? now : undefined;
      },
      { timeoutMs: 15_000, message: 'leaky to be restarted for its memory' },
    );
    assert.ok(replaced.restarts >= 1, `restarts ${replaced.restarts}`);
    await waitFor(() => isGone(first.pid), { timeoutMs: 3000, message: `old pid ${first.pid} to be gone` });
    assert.equal(h.fleet(['stop', 'leaky']).code, 0);
  });
});
