// Losing the controller changes nothing on the hosts; when it comes back the
// view is whole again, and the log lines written meanwhile arrive (or are
// counted as dropped when a host's buffer overflowed).
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FIXTURE_APP, freePort, httpGet, isAlive, waitFor } from '../harness';
import { FleetCluster } from '../fleet-cluster';

interface Row {
  host: string;
  app: string;
  pid: number;
  status: string;
}

describe('controller outage', { timeout: 180_000 }, () => {
  const c = new FleetCluster(300);
  const ports: Record<string, number> = {};

  before(async () => {
    await c.startController();
    for (const name of ['web1', 'web2']) {
      ports[name] = await freePort();
      await c.startAgent({ name, labels: 'role=web', env: { PORT: String(ports[name]) } });
    }
    // web3 holds only 20 lines while the controller is away.
    await c.startAgent({ name: 'web3', labels: 'role=batch', args: ['--log-buffer', '20'] });
    const config = path.join(c.dir, 'fleet.config.js');
    fs.writeFileSync(
      config,
      `module.exports = { apps: [
        { name: 'api', script: ${JSON.stringify(FIXTURE_APP)} },
        { name: 'printer', script: ${JSON.stringify(FIXTURE_APP)}, env: { NO_LISTEN: '1', LOG_LINES_PER_S: '50' } },
      ] };`,
    );
    assert.equal(c.fleet(['start', config, '--hosts', 'web1,web2']).code, 0);
    const printer = path.join(c.dir, 'printer.config.js');
    fs.writeFileSync(
      printer,
      `module.exports = { apps: [{ name: 'printer', script: ${JSON.stringify(FIXTURE_APP)}, env: { NO_LISTEN: '1', LOG_LINES_PER_S: '100' } }] };`,
    );
    assert.equal(c.fleet(['start', printer, '--hosts', 'web3']).code, 0);
  });
  after(() => c.cleanup());

  test('controller kill -9: apps keep serving; restarted, the view is whole and buffered lines arrive', async () => {
    const before = c.fleet(['ls', '--json']).json<Row[]>();
    await c.killController('SIGKILL');
    // The last line web1 printed when the controller died (asked of web1 itself):
    // every later line was written during the outage.
    const last = c.onHost('web1', ['logs', 'printer', '--lines', '1', '--out', '--json']);
    const n0 = Number(/line (\d+)/.exec(last.json<{ line: string }>().line)![1]);
    const unreachable = c.fleet(['ls']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach controller test at 127\.0\.0\.1:\d+/);
    // The hosts carry on: serving, restarting, logging.
    await new Promise((r) => setTimeout(r, 1500));
    for (const name of ['web1', 'web2']) assert.equal((await httpGet(ports[name])).status, 200);
    assert.ok(before.every((r) => isAlive(r.pid)));
    assert.equal(c.onHost('web1', ['restart', 'api']).code, 0, 'a host works on its own');

    await c.startController();
    // From disk at once, then ready as agents redial (jittered backoff, well under 20 s).
    assert.deepEqual(c.hosts().map((h) => h.name), ['web1', 'web2', 'web3']);
    await waitFor(() => (c.hosts().every((h) => h.status === 'ready') ? true : undefined), { timeoutMs: 30_000, message: 'agents back' });
    const now = c.fleet(['ls', '--json']).json<Row[]>();
    assert.equal(now.length, before.length);
    const printerPids = (rows: Row[]): number[] => rows.filter((r) => r.app === 'printer').map((r) => r.pid).sort();
    assert.deepEqual(printerPids(now), printerPids(before), 'same processes');
    assert.ok(now.every((r) => r.status === 'online'));

    // The lines web1 printed during the outage came through its buffer (and any batch the dead
    // controller never acknowledged was sent again), none lost, none twice.
    const follow = c.spawnFleet(['logs', 'printer', '-f', '--lines', '1000', '--hosts', 'web1', '--out']);
    await waitFor(() => (follow.output().includes(`line ${n0 + 1}\n`) ? true : undefined), { message: `line ${n0 + 1} from the outage` });
    const out = await follow.stop();
    const numbers = out.stdout.trim().split('\n').map((l) => Number(/line (\d+)$/.exec(l)![1]));
    const from = numbers.indexOf(n0 + 1);
    const after = numbers.slice(from);
    assert.deepEqual(after, after.map((_, i) => n0 + 1 + i), 'consecutive across the outage');
  });

  test('agent kill -9: the lines written while it was down reach the followers when it is back', async () => {
    const follow = c.spawnFleet(['logs', 'printer', '-f', '--lines', '0', '--hosts', 'web2', '--out']);
    const numbers = (): number[] =>
      follow
        .output()
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => Number(/line (\d+)$/.exec(l)![1]));
    await waitFor(() => (numbers().length > 20 ? true : undefined), { message: 'lines from web2' });
    await c.killAgent('web2', 'SIGKILL');
    const before = numbers().at(-1)!;
    await new Promise((r) => setTimeout(r, 1500)); // ~75 lines written with no agent
    await c.restartAgent('web2');
    await waitFor(() => (numbers().some((n) => n > before + 150) ? true : undefined), { message: 'lines after the return' });
    await follow.stop();
    const seen = [...new Set(numbers())].sort((a, b) => a - b);
    const missing = [];
    for (let n = seen[0]; n <= seen.at(-1)!; n++) if (!seen.includes(n)) missing.push(n);
    assert.deepEqual(missing, [], 'no line lost while the agent was down');
  });

  test('an overflowing buffer is reported as a count of dropped lines', async () => {
    const follow = c.spawnFleet(['logs', '-f', '--lines', '1000', '--hosts', 'web3']);
    await waitFor(() => (/web3 \| \[fleet\] \d+ log lines from web3 were dropped/.test(follow.output()) ? true : undefined), {
      message: 'a drop notice from web3',
    });
    await follow.stop();
  });
});
