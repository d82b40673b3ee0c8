// The fleet end to end: a real controller and three real agents on loopback,
// driven by the real CLI from a "laptop" home. One cluster for the whole file;
// the tests run in order, each leaving it as the next expects.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURE_APP, freePort, httpGet, isAlive, waitFor } from '../harness';
import { FleetCluster } from '../fleet-cluster';

interface Row {
  host: string;
  app: string;
  instance: number;
  pid: number;
  status: string;
  restarts: number;
}

describe('a fleet of three hosts', { timeout: 240_000 }, () => {
  const c = new FleetCluster(300);
  const ports: Record<string, number> = {};
  const rows = (args: string[] = []): Row[] => {
    const r = c.fleet(['ls', '--json', ...args]);
    assert.equal(r.code, 0, r.stderr);
    return r.json<Row[]>();
  };
  const pidsOf = (host: string): number[] =>
    rows()
      .filter((r) => r.host === host && r.app === 'api')
      .map((r) => r.pid)
      .sort();

  before(async () => {
    await c.startController();
    const zones: Record<string, string> = { web1: 'a', web2: 'a', web3: 'b' };
    for (const name of ['web1', 'web2', 'web3']) {
      ports[name] = await freePort();
      // A host knows its own port: host env over the app's.
      await c.startAgent({ name, labels: `role=web,zone=${zones[name]}`, env: { PORT: String(ports[name]) } });
    }
  });
  after(() => c.cleanup());

  test('fleet hosts: every host ready, with its labels', () => {
    const hosts = c.hosts();
    assert.deepEqual(hosts.map((h) => [h.name, h.status, h.labels.zone]), [
      ['web1', 'ready', 'a'],
      ['web2', 'ready', 'a'],
      ['web3', 'ready', 'b'],
    ]);
    const text = c.fleet(['hosts']);
    assert.match(text.stdout, /^name\s+status\s+labels/m);
    assert.match(text.stdout, /web3\s+ready\s+role=web,zone=b/);
  });

  test('start without saying where is refused when there are several hosts', () => {
    const r = c.fleet(['start', FIXTURE_APP, '--name', 'api']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /say where to start: this controller has 3 hosts/);
    assert.match(r.stderr, /--hosts/);
    assert.equal(rows().length, 0, 'nothing started');
  });

  test('start on every web host; ls shows each process with its host', async () => {
    const r = c.fleet(['start', FIXTURE_APP, '--name', 'api', '--selector', 'role=web']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /web1\/api started/);
    assert.match(r.stdout, /web3\/api started/);
    const all = rows();
    assert.deepEqual([...new Set(all.map((x) => x.host))], ['web1', 'web2', 'web3']);
    assert.ok(all.every((x) => x.status === 'online' && isAlive(x.pid)));
    // Each host's PORT came from its agent's --env.
    for (const name of ['web1', 'web2', 'web3']) assert.equal((await httpGet(ports[name])).status, 200);
    const table = c.fleet(['ls']);
    assert.match(table.stdout, /^host\s+id\s+name/m);
    assert.deepEqual([...new Set(rows(['--selector', 'zone=a']).map((x) => x.host))], ['web1', 'web2']);
    assert.deepEqual([...new Set(rows(['--hosts', 'web3']).map((x) => x.host))], ['web3']);
  });

  test('describe shows the host and its env', () => {
    const r = c.fleet(['describe', 'api', '--hosts', 'web2', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const [app] = r.json<{ host: string; hostEnv: Record<string, string> }[]>();
    assert.equal(app.host, 'web2');
    assert.deepEqual(Object.keys(app.hostEnv), ['PORT']);
    assert.match(c.fleet(['describe', 'api', '--hosts', 'web2']).stdout, /host env\s+PORT=\*\*\*\*/);
  });

  test('restart and scale on a subset leave the other hosts alone', () => {
    const before1 = pidsOf('web1');
    const before2 = pidsOf('web2');
    const r = c.fleet(['restart', 'api', '--hosts', 'web2']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /web2\/api restarted/);
    assert.deepEqual(pidsOf('web1'), before1);
    assert.notDeepEqual(pidsOf('web2'), before2);

    const s = c.fleet(['scale', 'api', '2', '--selector', 'zone=b']);
    assert.equal(s.code, 0, s.stderr);
    const counts = Object.fromEntries(['web1', 'web2', 'web3'].map((h) => [h, rows().filter((x) => x.host === h).length]));
    assert.deepEqual(counts, { web1: 1, web2: 1, web3: 2 });
    // The host's own CLI sees the same: the controller did not make it up.
    assert.equal(c.onHost('web3', ['ls', '--json']).json<Row[]>().length, 2);
  });

  test('unknown host and a selector matching nothing are clear errors', () => {
    const a = c.fleet(['restart', 'api', '--hosts', 'web9']);
    assert.equal(a.code, 1);
    assert.match(a.stderr, /unknown host web9/);
    assert.match(a.stderr, /known hosts: web1, web2, web3/);
    const b = c.fleet(['ls', '--selector', 'zone=z']);
    assert.equal(b.code, 1);
    assert.match(b.stderr, /no host matches --selector zone=z/);
    const bad = c.fleet(['ls', '--selector', 'zone']);
    assert.equal(bad.code, 2, 'a malformed selector is bad usage');
    // An error from one host names it.
    const one = c.fleet(['restart', 'nosuch', '--hosts', 'web2']);
    assert.equal(one.code, 1);
    assert.match(one.stderr, /^error: web2: /);
  });

  test('the first lines of a new app reach the controller too (printed before its start returned)', async () => {
    const config = path.join(c.dir, 'early.config.js');
    fs.writeFileSync(
      config,
      `module.exports = { apps: [{ name: 'early', script: ${JSON.stringify(FIXTURE_APP)}, env: { NO_LISTEN: '1', LOG_LINES_PER_S: '2000', LOG_LINES: '20' } }] };`,
    );
    const started = c.fleet(['start', config, '--hosts', 'web1']);
    assert.equal(started.code, 0, started.stderr);
    // The controller's window (what -f starts from) holds line 0 on: nothing printed before the agent followed is lost.
    const follow = c.spawnFleet(['logs', 'early', '-f', '--lines', '100', '--out']);
    await waitFor(() => (/early#0 \| line 19$/m.test(follow.output()) ? true : undefined), { message: 'the last line through the controller' });
    const out = await follow.stop();
    const numbers = out.stdout
      .split('\n')
      .map((l) => /^web1\/early#0 \| line (\d+)$/.exec(l)?.[1])
      .filter((n): n is string => n !== undefined)
      .map(Number);
    assert.deepEqual(numbers, Array.from({ length: 20 }, (_, i) => i), out.stdout);
    c.fleet(['delete', 'early', '--hosts', 'web1']);
  });

  test('logs -f merges the hosts, every line once, prefixed host/app#instance', async () => {
    const config = path.join(c.dir, 'printer.config.js');
    fs.writeFileSync(
      config,
      `module.exports = { apps: [{ name: 'printer', script: ${JSON.stringify(FIXTURE_APP)}, env: { NO_LISTEN: '1', LOG_LINES_PER_S: '200' } }] };`,
    );
    const started = c.fleet(['start', config, '--hosts', 'web1,web2']);
    assert.equal(started.code, 0, started.stderr);
    const follow = c.spawnFleet(['logs', 'printer', '-f', '--lines', '0', '--out']);
    const count = (host: string): number => follow.output().split(`${host}/printer#0 |`).length - 1;
    await waitFor(() => (count('web1') > 150 && count('web2') > 150 ? true : undefined), { message: 'lines from both hosts' });
    const out = await follow.stop();
    assert.equal(out.code, 0, out.stderr);
    const lines = out.stdout.trim().split('\n');
    const numbers: Record<string, number[]> = { web1: [], web2: [] };
    for (const l of lines) {
      const m = /^(web\d)\/printer#0 \| line (\d+)$/.exec(l);
      assert.ok(m, `unexpected line: ${l}`);
      numbers[m[1]].push(Number(m[2]));
    }
    for (const host of ['web1', 'web2']) {
      const n = numbers[host];
      assert.ok(n.length > 100, `${host}: ${n.length} lines`);
      // Every line exactly once and in order: consecutive numbers from the first.
      assert.deepEqual(n, n.map((_, i) => n[0] + i), `${host} lost or repeated lines`);
    }
    assert.equal(c.fleet(['delete', 'printer']).code, 0);
  });

  test('--lines and --grep read the hosts\' files', () => {
    const r = c.fleet(['logs', 'api', '--lines', '50', '--grep', 'listening', '--out']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trim().split('\n');
    assert.ok(lines.length >= 3, r.stdout);
    assert.ok(lines.every((l) => /^web\d\/api#\d \| listening on \d+$/.test(l)), r.stdout);
  });

  test('agent kill -9: the host shows disconnected and its processes unknown, then comes back with the same pids', async () => {
    const pids = pidsOf('web3');
    await c.killAgent('web3', 'SIGKILL');
    const started = Date.now();
    await waitFor(() => c.hosts().find((h) => h.name === 'web3' && h.status === 'disconnected'), { message: 'web3 disconnected' });
    // Three heartbeats of 300 ms, plus the CLI's own start-up.
    assert.ok(Date.now() - started < 5_000, `took ${Date.now() - started} ms`);
    const web3 = rows().filter((x) => x.host === 'web3');
    assert.equal(web3.length, 2);
    assert.ok(web3.every((x) => x.status === 'unknown'), JSON.stringify(web3));
    // The apps themselves never noticed.
    assert.ok(pids.every(isAlive));
    assert.equal((await httpGet(ports.web3)).status, 200);

    // A command on a disconnected host fails for that host only, and says so.
    const partial = c.fleet(['restart', 'api', '--hosts', 'web1,web3']);
    assert.equal(partial.code, 1);
    assert.match(partial.stdout, /web1\/api restarted/);
    assert.match(partial.stderr, /web3\/api: web3 is disconnected/);

    await c.restartAgent('web3');
    assert.deepEqual(pidsOf('web3'), pids);
    assert.ok(rows().filter((x) => x.host === 'web3').every((x) => x.status === 'online'));
  });

  test('a host gone for good can be forgotten, a connected one cannot', async () => {
    await c.startAgent({ name: 'web4', labels: 'role=old' });
    const refused = c.fleet(['hosts', 'rm', 'web4']);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /web4 is connected/);
    await c.killAgent('web4', 'SIGTERM');
    await waitFor(() => c.hosts().find((h) => h.name === 'web4' && h.status === 'disconnected'), { message: 'web4 gone' });
    assert.equal(c.fleet(['hosts', 'rm', 'web4']).code, 0);
    assert.deepEqual(c.hosts().map((h) => h.name), ['web1', 'web2', 'web3']);
  });

  test('a second agent claiming a live name is refused', async () => {
    await c.startAgent({ name: 'web1', homeName: 'impostor', labels: 'role=web' }, { wait: false });
    await waitFor(() => (/taken by a connected agent/.test(c.agentLogs.get('impostor') ?? '') ? true : undefined), {
      message: 'the refusal in the impostor\'s log',
    });
    assert.match(c.agentLogs.get('impostor')!, /give this agent another --name/);
    assert.equal(c.hosts().find((h) => h.name === 'web1')?.status, 'ready');
    await c.killAgent('impostor', 'SIGTERM');
  });
});
