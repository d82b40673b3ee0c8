// The local daemon: started on first use, one per FLEET_HOME even when CLIs
// race, a socket only its owner can use, and — the point of the runner — apps
// that outlive it: kill -9 of the agent under load loses no request, and the
// next agent shows the same processes with the same counters.
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { spawnSync } from 'node:child_process';
import { FIXTURE_APP, FleetHome, KeepAliveLoad, freePort, httpGet, isAlive, waitFor } from '../harness';

function daemonProcesses(home: string): string[] {
  const out = spawnSync('pgrep', ['-af', 'daemon-main'], { encoding: 'utf8' }).stdout;
  return out.split('\n').filter((l) => l.trim() !== '').filter((l) => {
    const pid = Number(l.split(' ')[0]);
    try {
      return fs.readFileSync(`/proc/${pid}/environ`, 'utf8').includes(`FLEET_HOME=${home}`);
    } catch {
      return false;
    }
  });
}

describe('local daemon', () => {
  const h = new FleetHome();
  after(() => h.cleanup());

  test('two CLIs racing on a fresh home start exactly one daemon', async () => {
    const results = await Promise.all([h.fleetAsync(['ls', '--json']), h.fleetAsync(['ls', '--json']), h.fleetAsync(['ls', '--json'])]);
    for (const r of results) assert.equal(r.code, 0, r.stderr);
    const pid = await h.waitDaemon();
    // Losers exit on their own once they find the lock taken.
    await waitFor(() => daemonProcesses(h.home).length === 1, { message: 'a single daemon process' });
    assert.ok(isAlive(pid));
  });

  test('the socket is private to its owner (mode 0600) and ping reports pid, version, home', () => {
    const mode = fs.statSync(path.join(h.home, 'fleet.sock')).mode & 0o777;
    assert.equal(mode, 0o600);
    const ping = h.fleet(['ping', '--json']).json<{ pid: number; version: string; home: string }>();
    assert.equal(ping.home, h.home);
    assert.match(ping.version, /^\d+\.\d+\.\d+/);
    assert.equal(ping.pid, h.daemonPid());
  });

  test('kill -9 of the agent under load fails no request; the next agent re-adopts the same processes', async () => {
    const port = await freePort();
    const config = path.join(h.home, 'ecosystem.config.js');
    fs.writeFileSync(
      config,
      `module.exports = { apps: [{ name: 'api', script: ${JSON.stringify(FIXTURE_APP)}, instances: 2, exec_mode: 'cluster', env: { PORT: '${port}' } }] };`,
    );
    const started = h.fleet(['start', config]);
    assert.equal(started.code, 0, started.stderr);
    await waitFor(() => httpGet(port).then((r) => r.status === 200), { message: 'app to serve' });
    // Give the app a restart to count, so "same counters" means something.
    const restarted = h.fleet(['restart', 'api']);
    assert.equal(restarted.code, 0, restarted.stderr);
    const before = h.rows('api');

    const load = new KeepAliveLoad(port, 8).start();
    await waitFor(() => load.ok > 200, { message: 'load to get going' });
    const agentPid = h.daemonPid()!;
    process.kill(agentPid, 'SIGKILL');
    await waitFor(() => !isAlive(agentPid), { message: 'agent to die' });
    const okWhileDown = load.ok;
    await waitFor(() => load.ok > okWhileDown + 500, { message: 'apps to keep serving with no agent' });
    const relaunched = await h.fleetAsync(['ls', '--json']); // starts a new agent
    assert.equal(relaunched.code, 0, relaunched.stderr);
    const result = await load.stop();
    assert.equal(result.failed, 0, `failed requests: ${JSON.stringify(result.errors)}`);

    const afterRows = h.rows('api');
    assert.notEqual(h.daemonPid(), agentPid);
    assert.deepEqual(
      afterRows.map((r) => [r.instance, r.pid, r.restarts, r.status]),
      before.map((r) => [r.instance, r.pid, r.restarts, r.status]),
    );
    // No duplicate runner was started for the adopted app.
    const runners = spawnSync('pgrep', ['-f', `runner-main.js ${path.join(h.home, 'run')}`], { encoding: 'utf8' }).stdout.trim().split('\n').filter(Boolean);
    assert.equal(runners.length, 1, `runners: ${runners.join(',')}`);
  });

  test('fleet kill stops every app and the daemon, leaving no process behind', async () => {
    const pids = h.rows('api').map((r) => r.pid);
    const r = h.fleet(['kill']);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => pids.every((p) => !isAlive(p)) && daemonProcesses(h.home).length === 0, {
      message: 'apps and daemon to be gone',
    });
    assert.notEqual(h.fleet(['ping']).code, 0, 'ping must fail with no daemon, and must not start one');
  });
});
