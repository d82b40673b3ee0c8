// Local mode: the first command starts the daemon and waits for it to answer.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { EXIT_OK } from '../src/exit-codes';
import { startFakeDaemon, type FakeDaemon } from './fake-daemon';
import { runFleet } from './helpers';

test('no daemon: the command spawns one and goes on as soon as it answers', async () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-launch-'));
  let spawned = 0;
  let daemon: FakeDaemon | undefined;
  const started = Date.now();
  try {
    const r = await runFleet(['ls', '--json'], {
      env: { FLEET_HOME: home },
      spawnDaemon: (h) => {
        spawned++;
        assert.equal(h, home);
        // A daemon takes a while to listen; the CLI polls until it does.
        setTimeout(() => {
          void startFakeDaemon(home).then((d) => (daemon = d));
        }, 300);
      },
    });
    assert.equal(r.code, EXIT_OK, r.stderr);
    assert.equal(spawned, 1);
    assert.equal(JSON.parse(r.stdout).length, 3);
    // Short reconnect backoff: answered well before grpc's default 1 s retry would allow.
    assert.ok(Date.now() - started < 1500, `took ${Date.now() - started} ms`);
    // With the daemon up, the next command does not spawn.
    const again = await runFleet(['ls'], { env: { FLEET_HOME: home } });
    assert.equal(again.code, EXIT_OK, again.stderr);
  } finally {
    await daemon?.close();
  }
});

// The real daemon, when the workspace has built it: spawn on first use, then kill.
const daemonEntry = (() => {
  try {
    return require.resolve('@fleet/agent/daemon');
  } catch {
    return undefined;
  }
})();

test('the real daemon starts on first use and fleet kill stops it', { skip: !daemonEntry && 'agent not built' }, () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-real-'));
  const bin = path.resolve(__dirname, '..', '..', 'bin', 'fleet.js');
  const fleet = (...args: string[]) =>
    spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', env: { ...process.env, FLEET_HOME: home }, timeout: 20_000 });
  try {
    const none = fleet('ping');
    assert.equal(none.status, 1);
    const ls = fleet('ls', '--json');
    assert.equal(ls.status, 0, ls.stderr);
    assert.deepEqual(JSON.parse(ls.stdout), []);
    const pong = fleet('ping', '--json');
    assert.equal(pong.status, 0, pong.stderr);
    assert.equal(JSON.parse(pong.stdout).home, home);
    const kill = fleet('kill', '--json');
    assert.equal(kill.status, 0, kill.stderr);
    assert.equal(JSON.parse(kill.stdout).killed, true);
    assert.equal(fleet('ping').status, 1);
  } finally {
    fleet('kill');
    fs.rmSync(home, { recursive: true, force: true });
  }
});
