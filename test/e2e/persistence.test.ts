// Desired state outlives the daemon and the machine: kill -9 of the daemon
// changes nothing a user sees (same pids, same counts, stopped apps stopped);
// a "reboot" (every process of the home killed) brings the apps back as they
// were asked to be; save / kill / resurrect restores; and state is written
// atomically, with no temp file left behind.
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_APP, FleetHome, freePort, httpGet, isAlive, waitFor, type LsRow } from '../harness';

/**
 * The apps' script lives in the home, so every process of the home (daemon
 * aside: its command line names no path of the home) shows in `pgrep -f <home>`.
 */
function appScript(h: FleetHome): string {
  const file = path.join(h.home, 'app.js');
  if (!fs.existsSync(file)) fs.writeFileSync(file, `require(${JSON.stringify(FIXTURE_APP)});\n`);
  return file;
}

function writeConfig(h: FleetHome, apps: Record<string, unknown>[]): string {
  const file = path.join(h.home, 'ecosystem.config.js');
  fs.writeFileSync(file, `module.exports = { apps: ${JSON.stringify(apps.map((a) => ({ script: appScript(h), ...a })), null, 2)} };\n`);
  return file;
}

function ok(h: FleetHome, args: string[]): string {
  const r = h.fleet(args);
  assert.equal(r.code, 0, `fleet ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** Name → [status, pid, restarts] for each instance, in a stable order. */
function snapshot(rows: LsRow[]): string[] {
  return rows.map((r) => `${r.app}#${r.instance} ${r.status} pid=${r.pid} restarts=${r.restarts}`).sort();
}

function homeProcesses(h: FleetHome): number[] {
  const out = spawnSync('pgrep', ['-f', h.home], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter(Boolean).map(Number);
}

/** A power cut: the daemon, every runner and every app die at once, with no chance to clean up. */
async function reboot(h: FleetHome): Promise<void> {
  const victims = [h.daemonPid()!, ...homeProcesses(h), ...h.ls().map((r) => r.pid).filter((p) => p > 0)];
  for (const pid of victims) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor(() => victims.every((p) => !isAlive(p)) && homeProcesses(h).length === 0, { message: 'every process of the home to be dead' });
}

function tempFiles(h: FleetHome): string[] {
  const found: string[] = [];
  for (const dir of [h.home, path.join(h.home, 'run')]) {
    for (const f of fs.readdirSync(dir)) if (/\.tmp$|\.tmp\b/.test(f)) found.push(path.join(dir, f));
  }
  return found;
}

describe('persistence', () => {
  const h = new FleetHome();
  let port = 0;
  after(() => h.cleanup());

  test('kill -9 of the daemon: apps keep running, the next daemon shows the same pids, counts and stopped apps', async () => {
    port = await freePort();
    const config = writeConfig(h, [
      { name: 'web', instances: 2, exec_mode: 'cluster', env: { PORT: String(port), BODY: 'web-body' } },
      { name: 'worker', min_uptime: 200, env: { PORT: '0' } },
      { name: 'idle', min_uptime: 200, env: { PORT: '0' } },
    ]);
    ok(h, ['start', config]);
    ok(h, ['restart', 'worker']); // a count that is not zero
    ok(h, ['stop', 'idle']);
    const before = h.ls();
    assert.equal(before.find((r) => r.app === 'worker')!.restarts, 1);
    assert.equal(before.find((r) => r.app === 'idle')!.status, 'stopped');

    const daemon = h.daemonPid()!;
    process.kill(daemon, 'SIGKILL');
    await waitFor(() => !isAlive(daemon), { message: 'the daemon to die' });
    for (const r of before.filter((row) => row.pid > 0)) assert.ok(isAlive(r.pid), `${r.app}#${r.instance} (pid ${r.pid}) died with the daemon`);
    assert.equal((await httpGet(port)).body, 'web-body', 'web serves with no daemon');

    const afterRows = h.ls(); // starts a new daemon, which re-adopts the runners
    assert.notEqual(h.daemonPid(), daemon);
    assert.deepEqual(snapshot(afterRows), snapshot(before));
    // And it is the same processes, still in charge: a stop through the new daemon works.
    ok(h, ['stop', 'worker']);
    assert.equal(h.rows('worker')[0]!.status, 'stopped');
    ok(h, ['restart', 'worker']);
    assert.equal(h.rows('worker')[0]!.status, 'online');
  });

  /** Later tests start from running apps, whatever the previous test left. */
  function ensureRunning(): void {
    for (const app of ['web', 'worker']) if (h.rows(app).some((r) => r.status !== 'online')) ok(h, ['restart', app]);
  }

  test('a reboot (every process killed): fleet ls brings online apps back and leaves stopped ones stopped', async () => {
    const before = h.ls();
    await reboot(h);
    h.ls(); // the first command after boot starts the daemon, which starts what should run
    const back = await waitFor(
      () => {
        const rows = h.ls();
        const web = rows.filter((r) => r.app === 'web');
        return web.length === 2 && web.every((r) => r.status === 'online') && rows.find((r) => r.app === 'worker')?.status === 'online'
          ? rows
          : undefined;
      },
      { timeoutMs: 8000, message: 'web and worker to be online again' },
    );
    for (const r of back.filter((row) => row.status === 'online')) {
      assert.ok(!before.some((b) => b.pid === r.pid), `${r.app}#${r.instance} has a pid from before the reboot`);
    }
    assert.deepEqual(back.filter((r) => r.app === 'idle').map((r) => r.status), ['stopped'], 'a stopped app stays stopped');
    const res = await waitFor(() => httpGet(port), { message: 'web to serve again' });
    assert.equal(res.body, 'web-body', 'the app came back with its config env');
  });

  test('fleet resurrect after a reboot restores the saved apps, stopped ones stopped', async () => {
    ensureRunning();
    ok(h, ['save']);
    await reboot(h);
    const r = h.fleet(['resurrect']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const rows = await waitFor(
      () => {
        const now = h.ls();
        return now.filter((row) => row.status === 'online').length === 3 ? now : undefined;
      },
      { timeoutMs: 8000, message: 'web (2) and worker to be online' },
    );
    assert.deepEqual(
      rows.map((row) => `${row.app} ${row.status}`).sort(),
      ['idle stopped', 'web online', 'web online', 'worker online'],
    );
    assert.equal((await waitFor(() => httpGet(port))).body, 'web-body');
  });

  test('fleet save, fleet kill, fleet resurrect: the same apps, stopped ones stopped', async () => {
    ensureRunning();
    ok(h, ['stop', 'worker']);
    const saved = JSON.parse(ok(h, ['save', '--json'])) as { path: string; apps: number };
    assert.equal(saved.apps, 3);
    const pids = h.ls().map((r) => r.pid).filter((p) => p > 0);
    ok(h, ['kill']);
    await waitFor(() => pids.every((p) => !isAlive(p)), { message: 'fleet kill to stop every app' });
    assert.deepEqual(h.ls(), [], 'kill forgets the apps (a new daemon starts empty)');

    const r = h.fleet(['resurrect']);
    assert.equal(r.code, 0, r.stderr + r.stdout);
    const rows = h.ls();
    assert.deepEqual(
      rows.map((row) => `${row.app} ${row.status}`).sort(),
      ['idle stopped', 'web online', 'web online', 'worker stopped'],
    );
    assert.equal((await waitFor(() => httpGet(port))).body, 'web-body');
    // Resurrect again while they run: no duplicates.
    h.fleet(['resurrect']);
    assert.equal(h.ls().length, 4);
  });

  test('state.json is written atomically on every change, with no temp file left', () => {
    const state = (): { apps: { desired: string; spec: { name: string } }[] } =>
      JSON.parse(fs.readFileSync(path.join(h.home, 'state.json'), 'utf8'));
    const desired = (name: string): string | undefined => state().apps.find((a) => a.spec.name === name)?.desired;

    ok(h, ['restart', 'worker']);
    assert.equal(desired('worker'), 'online');
    ok(h, ['stop', 'web']);
    assert.equal(desired('web'), 'stopped', 'a stop is on disk when the command returns');
    ok(h, ['delete', 'idle']);
    assert.equal(desired('idle'), undefined);
    ok(h, ['restart', 'web']);
    assert.equal(desired('web'), 'online');
    assert.deepEqual(tempFiles(h), []);
    assert.equal((fs.statSync(path.join(h.home, 'state.json')).mode & 0o077), 0, 'state.json is private to its owner');
  });

  test('kill -9 of the daemon in the middle of changes leaves a readable state and a working daemon', async () => {
    const busy = [h.fleetAsync(['restart', 'worker']), h.fleetAsync(['stop', 'web']), h.fleetAsync(['restart', 'web'])];
    await waitFor(() => fs.existsSync(path.join(h.home, 'state.json')));
    process.kill(h.daemonPid()!, 'SIGKILL');
    await Promise.all(busy);
    const text = fs.readFileSync(path.join(h.home, 'state.json'), 'utf8');
    assert.doesNotThrow(() => JSON.parse(text), `state.json after a crash: ${text.slice(0, 200)}`);
    const rows = h.ls();
    assert.deepEqual([...new Set(rows.map((r) => r.app))].sort(), ['web', 'worker']);
  });
});
