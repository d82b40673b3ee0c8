// Zero-downtime reload under continuous keep-alive HTTP load, in cluster mode
// and in fork mode on a fixed port, with the app as written (a plain
// server.close() on SIGINT). The keep-alive case is the hard one: a Node
// server's own close() drops idle sockets under clients that just sent on them.
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_APP, FleetHome, KeepAliveLoad, freePort, httpGet, waitFor } from '../harness';

function writeConfig(dir: string, app: Record<string, unknown>): string {
  const file = path.join(dir, 'ecosystem.config.js');
  fs.writeFileSync(file, `module.exports = { apps: [${JSON.stringify(app)}] };\n`);
  return file;
}

for (const mode of ['cluster', 'fork'] as const) {
  describe(`reload in ${mode} mode`, () => {
    const h = new FleetHome();
    const instances = mode === 'cluster' ? 2 : 1;
    let port = 0;
    after(() => h.cleanup());

    test('loses no request under keep-alive load and ends with every instance replaced', async () => {
      port = await freePort();
      const config = writeConfig(h.home, {
        name: 'web',
        script: FIXTURE_APP,
        exec_mode: mode,
        instances,
        env: { PORT: String(port) },
      });
      const started = h.fleet(['start', config]);
      assert.equal(started.code, 0, started.stderr);
      await waitFor(() => httpGet(port).then((r) => r.status === 200), { message: 'app to serve' });
      const before = h.rows('web').map((r) => r.pid);
      const load = new KeepAliveLoad(port, 16).start();
      await waitFor(() => load.ok > 200, { message: 'load to get going' });
      // Async CLI calls: a sync spawn would freeze the load clients living in this process.
      for (let i = 0; i < 3; i++) {
        const r = await h.fleetAsync(['reload', 'web']);
        assert.equal(r.code, 0, `reload ${i}: ${r.stderr}${r.stdout}`);
      }
      const okAtEnd = load.ok;
      await waitFor(() => load.ok > okAtEnd + 200, { message: 'load to continue after the reloads' });
      const result = await load.stop();

      assert.equal(result.failed, 0, `failed requests: ${JSON.stringify(result.errors)} of ${result.ok}`);
      const after = h.rows('web');
      assert.equal(after.length, instances);
      for (const row of after) {
        assert.equal(row.status, 'online');
        assert.ok(!before.includes(row.pid), `instance ${row.instance} still has its old pid ${row.pid}`);
        assert.equal(row.restarts, 3);
      }
    });

    test('a replacement that cannot start leaves the old instance serving and reload fails', async () => {
      const before = h.rows('web').map((r) => r.pid);
      // Break the app: the next process of it crashes at once.
      const config = writeConfig(h.home, {
        name: 'web',
        script: FIXTURE_APP,
        exec_mode: mode,
        instances,
        wait_ready: true,
        listen_timeout: 1000,
        env: { PORT: String(port), WAIT_READY: '1', NEVER_READY: '1' },
      });
      const r = h.fleet(['start', config]); // start of a running app reloads it onto the new config
      assert.notEqual(r.code, 0, 'reload onto a release that never becomes ready must fail');
      assert.match(r.stderr + r.stdout, /keeps serving|not ready/);
      assert.deepEqual(h.rows('web').map((row) => row.pid), before, 'old instances must keep running');
      const res = await httpGet(port);
      assert.equal(res.status, 200);
    });

    test('a second reload while one runs is refused with a clear message', async () => {
      // A slow-to-be-ready release makes the reload last long enough to overlap.
      const config = writeConfig(h.home, {
        name: 'web',
        script: FIXTURE_APP,
        exec_mode: mode,
        instances,
        wait_ready: true,
        env: { PORT: String(port), WAIT_READY: '1', READY_DELAY_MS: '1500' },
      });
      const fixed = h.fleet(['start', config]);
      assert.equal(fixed.code, 0, fixed.stderr + fixed.stdout);
      const first = h.fleetAsync(['reload', 'web']);
      await waitFor(() => h.fleet(['describe', 'web', '--json']).stdout.includes('"reloading": true'), {
        message: 'first reload to be under way',
        intervalMs: 20,
      });
      const second = h.fleet(['reload', 'web']);
      assert.equal(second.code, 1);
      assert.match(second.stderr + second.stdout, /already in progress/);
      const firstResult = await first;
      assert.equal(firstResult.code, 0, firstResult.stderr);
    });
  });
}
