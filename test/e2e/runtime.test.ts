// Runtime behaviour beyond start/stop: scale, increment_var, watch (a file
// change reloads: new pids, no downtime), cron_restart (and a stopped app
// stays stopped), orphan reaping after a runner's hard death.
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FIXTURE_APP, FleetHome, freePort, httpGet, isAlive, waitFor } from '../harness';

function config(dir: string, apps: Record<string, unknown>[]): string {
  const file = path.join(dir, `ecosystem-${Math.random().toString(36).slice(2)}.config.js`);
  fs.writeFileSync(file, `module.exports = { apps: ${JSON.stringify(apps)} };\n`);
  return file;
}

describe('runtime', () => {
  const h = new FleetHome();
  after(() => h.cleanup());

  test('scale up and down by count and by delta', async () => {
    const port = await freePort();
    const r = h.fleet(['start', config(h.home, [{ name: 'sc', script: FIXTURE_APP, instances: 2, env: { PORT: String(port) } }])]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(h.fleet(['scale', 'sc', '+2']).code, 0);
    await waitFor(() => h.rows('sc').filter((x) => x.status === 'online').length === 4, { message: '4 online' });
    assert.equal(h.fleet(['scale', 'sc', '1']).code, 0);
    const rows = h.rows('sc');
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.status, 'online');
    assert.equal((await httpGet(port)).status, 200);
    const bad = h.fleet(['scale', 'sc', 'lots']);
    assert.equal(bad.code, 2, bad.stderr);
  });

  test('scaling a stopped app takes effect when it starts again', async () => {
    assert.equal(h.fleet(['stop', 'sc']).code, 0);
    assert.equal(h.fleet(['scale', 'sc', '3']).code, 0);
    const r = h.fleet(['restart', 'sc']);
    assert.equal(r.code, 0, r.stderr);
    const rows = h.rows('sc');
    assert.equal(rows.length, 3);
    assert.ok(rows.every((x) => x.status === 'online'), JSON.stringify(rows));
    h.fleet(['delete', 'sc']);
  });

  test('increment_var gives each instance its own port', async () => {
    const base = await freePort();
    const r = h.fleet([
      'start',
      config(h.home, [{ name: 'inc', script: FIXTURE_APP, instances: 2, exec_mode: 'fork', increment_var: 'PORT', env: { PORT: String(base) } }]),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const a = await waitFor(() => httpGet(base).catch(() => undefined), { message: `instance 0 on ${base}` });
    const b = await waitFor(() => httpGet(base + 1).catch(() => undefined), { message: `instance 1 on ${base + 1}` });
    assert.match(a.body, / 0\n$/);
    assert.match(b.body, / 1\n$/);
    h.fleet(['delete', 'inc']);
  });

  test('watch: a changed file reloads the app (new pid), an ignored one does not', async () => {
    const dir = fs.mkdtempSync(path.join(h.home, 'watched-'));
    fs.copyFileSync(FIXTURE_APP, path.join(dir, 'app.js'));
    fs.mkdirSync(path.join(dir, 'tmp'));
    const port = await freePort();
    const r = h.fleet([
      'start',
      config(h.home, [
        { name: 'w', script: path.join(dir, 'app.js'), cwd: dir, watch: true, ignore_watch: ['tmp'], watch_delay: 200, env: { PORT: String(port) } },
      ]),
    ]);
    assert.equal(r.code, 0, r.stderr);
    const first = h.rows('w')[0]!.pid;
    fs.writeFileSync(path.join(dir, 'tmp', 'scratch.txt'), 'x');
    fs.appendFileSync(path.join(dir, 'app.js'), '\n// changed\n');
    const next = await waitFor(() => {
      const row = h.rows('w')[0]!;
      return row.pid !== first && row.status === 'online' ? row : undefined;
    }, { message: 'a reload after the change' });
    assert.equal(next.restarts, 1, 'one change, one reload (the ignored file triggered nothing)');
    assert.equal((await httpGet(port)).status, 200);
    h.fleet(['delete', 'w']);
  });

  test('cron_restart restarts on schedule; a stopped app stays stopped', async () => {
    const port = await freePort();
    // Six fields: seconds first. Every 2 seconds.
    const r = h.fleet(['start', config(h.home, [{ name: 'cr', script: FIXTURE_APP, cron_restart: '*/2 * * * * *', env: { PORT: String(port) } }])]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => h.rows('cr')[0]!.restarts >= 1, { message: 'a cron restart', timeoutMs: 10_000 });
    assert.equal(h.fleet(['stop', 'cr']).code, 0);
    const stoppedAt = Date.now();
    await waitFor(() => Date.now() - stoppedAt > 2500, { message: 'a cron tick to pass' });
    assert.equal(h.rows('cr')[0]!.status, 'stopped');
    h.fleet(['delete', 'cr']);
  });

  test('a runner killed with SIGKILL is replaced, and the orphaned non-Node instance is reaped', async () => {
    const r = h.fleet(['start', 'sleep', '--name', 'sl', '--', '1000']);
    assert.equal(r.code, 0, r.stderr);
    const child = h.rows('sl')[0]!.pid;
    const runner = spawnSync('pgrep', ['-f', `runner-main.js ${path.join(h.home, 'run', 'sl.boot.json')}`], { encoding: 'utf8' })
      .stdout.trim();
    assert.ok(runner, 'runner pid');
    process.kill(Number(runner), 'SIGKILL');
    const row = await waitFor(() => {
      const x = h.rows('sl')[0];
      return x && x.pid !== child && x.status === 'online' ? x : undefined;
    }, { message: 'a new instance under a new runner' });
    assert.ok(isAlive(row.pid));
    await waitFor(() => {
      const stat = fs.existsSync(`/proc/${child}/stat`) ? fs.readFileSync(`/proc/${child}/stat`, 'utf8') : '';
      return stat === '' || / Z /.test(stat); // gone, or a zombie awaiting its reaper
    }, { message: 'the orphan to be killed' });
  });
});

describe('start by name (PM2 habit)', () => {
  const h = new FleetHome();
  after(() => h.cleanup());

  test('`fleet start <name>` starts a registered, stopped app', () => {
    assert.equal(h.fleet(['start', 'sleep', '--name', 'napper', '--', '1000']).code, 0);
    assert.equal(h.fleet(['stop', 'napper']).code, 0);
    assert.equal(h.rows('napper')[0]!.status, 'stopped');
    const r = h.fleet(['start', 'napper']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(h.rows('napper')[0]!.status, 'online');
  });
});
