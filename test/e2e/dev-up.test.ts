// `fleet dev up`: the one-machine demo, run as a user would: the real bin in
// the foreground, the `dev` context it adds used from the same FLEET_HOME,
// Ctrl-C (SIGINT) to end it, and nothing left running afterwards.
import { strict as assert } from 'node:assert';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { FLEET_BIN, FleetHome, freePort, httpGet, ROOT, waitFor } from '../harness';

const HOSTS = ['web1', 'web2', 'web3'];

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, () => srv.close(() => resolve(true)));
  });
}

/** A first port with the next two free as well: one app port per host. */
async function freePortRun(n: number): Promise<number> {
  for (;;) {
    const base = await freePort();
    let ok = base + n - 1 <= 65535;
    for (let i = 1; ok && i < n; i++) ok = await portFree(base + i);
    if (ok) return base;
  }
}

describe('fleet dev up', { timeout: 60_000 }, () => {
  const home = new FleetHome('fleet-dev-');
  let child: ChildProcess | undefined;
  let stdout = '';
  let stderr = '';
  let exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }> | undefined;

  after(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGINT');
      await exit;
    }
    await home.cleanup();
  });

  test('runs a controller, three hosts and the app on each; Ctrl-C stops everything', async () => {
    const port = await freePort();
    const appPort = await freePortRun(HOSTS.length);
    child = spawn(process.execPath, [FLEET_BIN, 'dev', 'up', '--hosts', '3', '--port', String(port), '--app-port', String(appPort)], {
      cwd: ROOT,
      env: home.env,
    });
    child.stdout!.on('data', (d) => (stdout += d));
    child.stderr!.on('data', (d) => (stderr += d));
    exit = new Promise((resolve) => child!.on('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(() => stdout.includes('Try, in another terminal') || child!.exitCode !== null, {
      timeoutMs: 30_000,
      message: 'the demo to be up',
    });
    assert.equal(child.exitCode, null, `dev up exited early:\n${stdout}\n${stderr}`);
    assert.match(stdout, /fleet hosts --context dev/);
    assert.match(stdout, new RegExp(`controller on 127\\.0\\.0\\.1:${port}`));

    // The context is added, not switched to.
    const contexts = JSON.parse(fs.readFileSync(path.join(home.home, 'contexts.json'), 'utf8')) as {
      current?: string;
      contexts: Record<string, { controller: string; tokenFile: string }>;
    };
    assert.equal(contexts.current, undefined);
    assert.equal(contexts.contexts.dev.controller, `127.0.0.1:${port}`);
    const tokenFile = contexts.contexts.dev.tokenFile;
    assert.equal(path.dirname(tokenFile), path.join(home.home, 'dev'));
    assert.equal(fs.statSync(tokenFile).mode & 0o777, 0o600);

    const hosts = home.fleet(['hosts', '--context', 'dev', '--json']);
    assert.equal(hosts.code, 0, hosts.stderr);
    const rows = hosts.json<{ name: string; status: string; labels: Record<string, string> }[]>();
    assert.deepEqual(
      rows.map((h) => [h.name, h.status, h.labels.role, h.labels.zone]),
      [
        ['web1', 'ready', 'web', 'a'],
        ['web2', 'ready', 'web', 'b'],
        ['web3', 'ready', 'web', 'a'],
      ],
    );

    const ls = home.fleet(['ls', '--context', 'dev', '--json']);
    assert.equal(ls.code, 0, ls.stderr);
    const procs = ls.json<{ host: string; app: string; status: string }[]>();
    assert.deepEqual([...new Set(procs.map((p) => p.host))].sort(), HOSTS);
    assert.ok(procs.every((p) => p.app === 'hello' && p.status === 'online'), JSON.stringify(procs));

    // Each host's app listens on its own port, given by its agent's --env PORT.
    for (const [i, name] of HOSTS.entries()) {
      const res = await httpGet(appPort + i);
      assert.equal(res.status, 200);
      assert.equal((JSON.parse(res.body) as { hello: string }).hello, name);
    }

    child.kill('SIGINT');
    const { code } = await exit!;
    assert.equal(code, 0, `stdout:\n${stdout}\nstderr:\n${stderr}`);
    assert.match(stdout, /demo stopped\n$/);

    const left = spawnSync('pgrep', ['-af', home.home], { encoding: 'utf8' }).stdout.trim();
    assert.equal(left, '', `processes left running:\n${left}`);
    for (const i of HOSTS.keys()) await assert.rejects(httpGet(appPort + i), /ECONNREFUSED/);
  });
});
