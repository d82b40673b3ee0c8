// GET /metrics, /healthz and the JSON API of a real controller and a real
// agent, read the way Prometheus reads them; and who may read them.
import { strict as assert } from 'node:assert';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FLEET_METRICS } from '@fleet/protocol';
import parsePrometheusTextFormat, { type ParsedFamily } from 'parse-prometheus-text-format';
import { FLEET_BIN, FIXTURE_APP, freePort, ROOT, waitFor } from '../harness';
import { FleetCluster, TOKENS } from '../fleet-cluster';

const HOSTS = ['web1', 'web2', 'web3'];
const INSTANCE_METRICS = FLEET_METRICS.filter((m) => m.name.startsWith('fleet_instance_'));
const HOST_METRICS = FLEET_METRICS.filter((m) => m.name.startsWith('fleet_host_'));

async function get(url: string, token?: string): Promise<{ status: number; body: string; type: string }> {
  const res = await fetch(url, token ? { headers: { authorization: `Bearer ${token}` } } : {});
  return { status: res.status, body: await res.text(), type: res.headers.get('content-type') ?? '' };
}

async function scrape(url: string, token?: string): Promise<Map<string, ParsedFamily>> {
  const r = await get(`${url}/metrics`, token);
  assert.equal(r.status, 200, r.body);
  return new Map(parsePrometheusTextFormat(r.body).map((f) => [f.name, f]));
}

/** host/instance of every series of a family whose status label is online with value 1. */
const online = (families: Map<string, ParsedFamily>): string[] =>
  (families.get('fleet_instance_status')?.metrics ?? [])
    .filter((s) => s.labels?.status === 'online' && s.value === '1' && s.labels.app === 'api')
    .map((s) => `${s.labels!.host}/${s.labels!.instance}`)
    .sort();

describe('metrics endpoints', { timeout: 60_000 }, () => {
  const c = new FleetCluster(300);
  let ctl = '';
  let agentUrl = '';
  let agent2Url = '';
  const agentToken = 'agent-metrics-secret-0123456789';

  before(async () => {
    const [ctlPort, agentPort, agent2Port] = await Promise.all([freePort(), freePort(), freePort()]);
    ctl = `http://127.0.0.1:${ctlPort}`;
    agentUrl = `http://127.0.0.1:${agentPort}`;
    agent2Url = `http://127.0.0.1:${agent2Port}`;
    const tokenFile = path.join(c.dir, 'metrics.token');
    fs.writeFileSync(tokenFile, `${agentToken}\n`, { mode: 0o600 });
    await c.startController(['--metrics-listen', `127.0.0.1:${ctlPort}`]);
    await Promise.all([
      c.startAgent({ name: 'web1', env: { PORT: '0' }, args: ['--metrics-listen', `127.0.0.1:${agentPort}`] }),
      // Beyond loopback, with the token it was given.
      c.startAgent({ name: 'web2', env: { PORT: '0' }, args: ['--metrics-listen', `0.0.0.0:${agent2Port}`, '--metrics-token-file', tokenFile] }),
      c.startAgent({ name: 'web3', env: { PORT: '0' } }),
    ]);
    const config = path.join(c.dir, 'api.config.js');
    fs.writeFileSync(config, `module.exports = { apps: [{ name: 'api', script: ${JSON.stringify(FIXTURE_APP)}, instances: 2, exec_mode: 'fork', env: { NO_LISTEN: '1' } }] };`);
    const r = c.fleet(['start', config, '--hosts', HOSTS.join(',')]);
    assert.equal(r.code, 0, r.stderr);
  });
  after(() => c.cleanup());

  test('the controller: every instance and host metric, labelled host/app/instance/release, for every host', async () => {
    const want = HOSTS.flatMap((h) => [`${h}/0`, `${h}/1`]);
    const families = await waitFor(async () => {
      const f = await scrape(ctl);
      return online(f).join() === want.join() ? f : undefined;
    }, { message: 'six api instances online in /metrics' });
    for (const m of [...INSTANCE_METRICS, ...HOST_METRICS]) {
      const f = families.get(m.name);
      assert.ok(f, `${m.name} is exported`);
      assert.equal(f.type, m.type.toUpperCase(), m.name);
      assert.equal(f.help, m.help, m.name);
      for (const s of f.metrics) assert.deepEqual(Object.keys(s.labels ?? {}).sort(), [...m.labels].sort(), m.name);
      assert.deepEqual([...new Set(f.metrics.map((s) => s.labels!.host))].sort(), HOSTS, `${m.name} covers every host`);
    }
    const mem = families.get('fleet_instance_memory_bytes')!.metrics;
    assert.equal(mem.length, 6);
    for (const s of mem) {
      assert.equal(s.labels!.app, 'api');
      assert.match(s.labels!.instance!, /^[01]$/);
      assert.match(s.labels!.release!, /^\d+$/);
    }
    assert.deepEqual(families.get('fleet_host_up')!.metrics.map((s) => s.value), ['1', '1', '1']);
    assert.ok(Number(families.get('fleet_host_memory_total_bytes')!.metrics[0]!.value) > 0);
    assert.ok(families.has('fleet_deployment_state') && families.has('fleet_deployment_hosts'), 'declared, with no deployment yet');
  });

  test('/healthz says the controller serves; the JSON API lists hosts and apps without env values', async () => {
    const h = await get(`${ctl}/healthz`);
    assert.equal(h.status, 200);
    assert.match(h.body, /^ok: controller listening on 127\.0\.0\.1:\d+\n$/);
    const hosts = await get(`${ctl}/api/v1/hosts`);
    assert.equal(hosts.type, 'application/json; charset=utf-8');
    const list = JSON.parse(hosts.body) as { name: string; env: Record<string, string> }[];
    assert.deepEqual(list.map((x) => x.name), HOSTS);
    assert.deepEqual(list[0]!.env, { PORT: '****' });
    const apps = JSON.parse((await get(`${ctl}/api/v1/apps`)).body) as { host: string; spec: { name: string } }[];
    assert.deepEqual(apps.map((a) => `${a.host}/${a.spec.name}`), HOSTS.map((h) => `${h}/api`));
    assert.equal((await get(`${ctl}/nothing-here`)).status, 404);
  });

  test("an agent's /metrics shows its own host only, asked live", async () => {
    const families = await waitFor(async () => {
      const f = await scrape(agentUrl);
      return online(f).join() === 'web1/0,web1/1' ? f : undefined;
    }, { message: "web1's instances online in its own /metrics" });
    for (const m of [...INSTANCE_METRICS, ...HOST_METRICS]) {
      const hosts = new Set(families.get(m.name)?.metrics.map((s) => s.labels!.host));
      assert.deepEqual([...hosts], ['web1'], m.name);
    }
    assert.equal((await get(`${agentUrl}/healthz`)).body, 'ok: agent web1\n');
  });

  test('an agent beyond loopback: 401 without its token, 200 with it; /healthz open', async () => {
    const url = agent2Url;
    const none = await get(`${url}/metrics`);
    assert.equal(none.status, 401);
    assert.match(none.body, /needs a token/);
    assert.equal((await get(`${url}/metrics`, 'not-the-token-not-the-token')).status, 401);
    const families = await scrape(url, agentToken);
    assert.deepEqual([...new Set(families.get('fleet_host_up')!.metrics.map((s) => s.labels!.host))], ['web2']);
    assert.equal((await get(`${url}/healthz`)).status, 200);
  });

  test('beyond loopback without a token or TLS, nothing starts: the error says what to do', () => {
    const env = { ...process.env, FLEET_HOME: path.join(c.dir, 'refused-home'), FLEET_CONTEXT: '' };
    const agent = spawnSync(process.execPath, [FLEET_BIN, 'agent', '--metrics-listen', '0.0.0.0:9464'], { env, encoding: 'utf8', timeout: 15_000 });
    assert.notEqual(agent.status, 0);
    assert.match(agent.stderr, /refusing to serve metrics on 0\.0\.0\.0:9464 without a token/);
    assert.match(agent.stderr, /--metrics-token-file/);
    const ctlRun = spawnSync(
      process.execPath,
      [FLEET_BIN, 'controller', '--listen', '127.0.0.1:0', '--data', path.join(c.dir, 'refused-data'), '--metrics-listen', '0.0.0.0:9464'],
      { env, encoding: 'utf8', timeout: 15_000 },
    );
    assert.notEqual(ctlRun.status, 0);
    assert.match(ctlRun.stderr, /refusing to serve metrics on 0\.0\.0\.0:9464 without TLS/);
    assert.match(ctlRun.stderr, /--tls-cert and --tls-key/);
  });

  test('a controller beyond loopback (--insecure): 401 without a token, 403 for an agent token, 200 for a viewer', async (t) => {
    const port = await freePort();
    const child = spawn(
      process.execPath,
      [
        FLEET_BIN, 'controller', '--listen', '127.0.0.1:0', '--insecure', '--data', path.join(c.dir, 'open-data'),
        '--seed-token', `viewer:${c.tokenFile('viewer')}`, '--seed-token', `agent:${c.tokenFile('agent')}`,
        '--metrics-listen', `0.0.0.0:${port}`,
      ],
      { cwd: ROOT, env: { ...process.env, FLEET_HOME: path.join(c.dir, 'open-home') } },
    );
    t.after(() => {
      child.kill('SIGKILL');
    });
    let log = '';
    child.stderr.on('data', (d) => (log += d));
    child.stdout.on('data', (d) => (log += d));
    await waitFor(() => /metrics on http:\/\/0\.0\.0\.0:\d+\/metrics.*token required/.test(log) || child.exitCode !== null, { message: 'metrics to listen' });
    assert.equal(child.exitCode, null, log);
    const url = `http://127.0.0.1:${port}`;
    const none = await get(`${url}/metrics`);
    assert.equal(none.status, 401);
    assert.match(none.body, /fix: .*Authorization: Bearer/);
    assert.equal((await get(`${url}/metrics`, TOKENS.agent)).status, 403);
    const ok = await get(`${url}/metrics`, TOKENS.viewer);
    assert.equal(ok.status, 200);
    assert.match(ok.body, /^# TYPE fleet_host_up gauge$/m);
    assert.equal((await get(`${url}/api/v1/hosts`, TOKENS.viewer)).body, '[]\n');
    assert.equal((await get(`${url}/healthz`)).status, 200);
  });
});
