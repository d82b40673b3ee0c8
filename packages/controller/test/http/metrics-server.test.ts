import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { AppInfo, BadInputError, FleetService, HostInfo, HostStatus, InstanceInfo, InstanceStatus } from '@fleet/protocol';
import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { TokenStore } from '../../src/auth/token-store';
import type { FleetSnapshot } from '../../src/http/fleet-metrics';
import { checkMetricsListen, staticTokenGuard, tokenStoreGuard } from '../../src/http/metrics-access';
import { type Health, type MetricsServerOptions, startMetricsServer } from '../../src/http/metrics-server';

const SNAPSHOT: FleetSnapshot = {
  hosts: [HostInfo.fromPartial({ name: 'web1', status: HostStatus.HOST_STATUS_READY, env: { API_KEY: 'k' }, memoryTotalBytes: 8e9 })],
  apps: [
    AppInfo.fromPartial({
      host: 'web1',
      spec: { name: 'api', env: { DB_PASSWORD: 'hunter2' } },
      hostEnv: { ZONE: 'a' },
      instances: [InstanceInfo.fromPartial({ app: 'api', instance: 0, status: InstanceStatus.INSTANCE_STATUS_ONLINE, release: 1 })],
    }),
  ],
  deployments: [],
};

interface Reply {
  status: number;
  type: string;
  body: string;
  headers: Headers;
}

async function get(url: string, init: RequestInit = {}): Promise<Reply> {
  const res = await fetch(url, init);
  return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text(), headers: res.headers };
}

async function serve(t: { after(fn: () => unknown): void }, over: Partial<MetricsServerOptions> = {}) {
  const health: Health = { ok: true, detail: 'controller listening on 127.0.0.1:7070' };
  const server = await startMetricsServer({ listen: '127.0.0.1:0', snapshot: async () => SNAPSHOT, health: () => health, ...over });
  t.after(() => server.close());
  return { url: server.url, health };
}

test('GET /metrics: Prometheus text 0.0.4 that a parser reads', async (t) => {
  const { url } = await serve(t);
  const r = await get(`${url}/metrics`);
  assert.equal(r.status, 200);
  assert.equal(r.type, 'text/plain; version=0.0.4; charset=utf-8');
  const names = parsePrometheusTextFormat(r.body).map((f) => f.name);
  assert.ok(names.includes('fleet_instance_cpu_percent') && names.includes('fleet_host_up'));
  assert.match(r.body, /^fleet_instance_status\{host="web1",app="api",instance="0",release="1",status="online"\} 1$/m);
  assert.equal((await fetch(`${url}/metrics`, { method: 'HEAD' })).status, 200);
});

test('GET /healthz: 200 ok while serving, 503 once not', async (t) => {
  const { url, health } = await serve(t);
  const ok = await get(`${url}/healthz`);
  assert.equal(ok.status, 200);
  assert.equal(ok.body, 'ok: controller listening on 127.0.0.1:7070\n');
  health.ok = false;
  health.detail = 'the controller is stopping';
  const down = await get(`${url}/healthz`);
  assert.equal(down.status, 503);
  assert.equal(down.body, 'unavailable: the controller is stopping\n');
});

test('GET /api/v1/hosts and /api/v1/apps: proto JSON with env values masked, keys kept', async (t) => {
  const { url } = await serve(t);
  const hosts = await get(`${url}/api/v1/hosts`);
  assert.equal(hosts.status, 200);
  assert.equal(hosts.type, 'application/json; charset=utf-8');
  const [h] = JSON.parse(hosts.body) as { name: string; status: string; env: Record<string, string> }[];
  assert.equal(h!.name, 'web1');
  assert.equal(h!.status, 'HOST_STATUS_READY');
  assert.deepEqual(h!.env, { API_KEY: '****' });
  const apps = await get(`${url}/api/v1/apps/`);
  assert.equal(apps.status, 200, 'a trailing slash is the same path');
  const [a] = JSON.parse(apps.body) as { spec: { name: string; env: Record<string, string> }; hostEnv: Record<string, string>; instances: unknown[] }[];
  assert.equal(a!.spec.name, 'api');
  assert.deepEqual(a!.spec.env, { DB_PASSWORD: '****' });
  assert.deepEqual(a!.hostEnv, { ZONE: '****' });
  assert.equal(a!.instances.length, 1);
  assert.ok(!apps.body.includes('hunter2') && !hosts.body.includes('"k"'));
});

test('anything else is 404; another method is 405; a failing snapshot is 500', async (t) => {
  const { url } = await serve(t, {
    snapshot: async () => {
      throw new Error('registry on fire');
    },
  });
  const nf = await get(`${url}/nope?x=1`);
  assert.equal(nf.status, 404);
  assert.match(nf.body, /not found: \/nope/);
  const post = await get(`${url}/metrics`, { method: 'POST', body: 'x' });
  assert.equal(post.status, 405);
  assert.equal(post.headers.get('allow'), 'GET, HEAD');
  const fail = await get(`${url}/metrics`);
  assert.equal(fail.status, 500);
  assert.match(fail.body, /registry on fire/);
  assert.equal((await get(`${url}/healthz`)).status, 200, 'health does not need the snapshot');
});

test('a static token guard: 401 without or with a wrong token, 200 with it; /healthz needs none', async (t) => {
  const secret = 'metrics-secret-0123456789';
  const { url } = await serve(t, { guard: staticTokenGuard(`${secret}\n`) });
  const none = await get(`${url}/metrics`);
  assert.equal(none.status, 401);
  assert.equal(none.headers.get('www-authenticate'), 'Bearer realm="fleet"');
  assert.match(none.body, /needs a token and the request carried none\n  fix: .*Authorization: Bearer/);
  assert.equal((await get(`${url}/metrics`, { headers: { authorization: 'Bearer wrong-wrong-wrong-wrong' } })).status, 401);
  assert.match((await get(`${url}/metrics`, { headers: { authorization: `Basic ${secret}` } })).body, /not of the form 'Bearer <token>'/);
  assert.equal((await get(`${url}/metrics`, { headers: { authorization: `Bearer ${secret}` } })).status, 200);
  assert.equal((await get(`${url}/api/v1/apps`, { headers: { authorization: `Bearer ${secret}` } })).status, 200);
  assert.equal((await get(`${url}/healthz`)).status, 200);
  assert.throws(() => staticTokenGuard('short'), (e: BadInputError) => /too short/.test(e.message) && /openssl rand/.test(e.hint ?? ''));
  assert.throws(() => staticTokenGuard('  \n'), /is empty/);
});

test("the controller's guard: viewer and operator tokens read, an agent token is 403, an unknown one 401", async (t) => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-metrics-tokens-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  const store = TokenStore.open(path.join(dir, 'tokens.json'));
  const viewer = store.create('viewer', 'prom').token;
  const operator = store.create('operator', 'me').token;
  const agent = store.create('agent', 'web1').token;
  const { url } = await serve(t, { guard: tokenStoreGuard(store, FleetService.list.path) });
  const as = (token: string) => get(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal((await as(viewer)).status, 200);
  assert.equal((await as(operator)).status, 200);
  const denied = await as(agent);
  assert.equal(denied.status, 403);
  assert.match(denied.body, /an agent token cannot run List: it needs a viewer or operator token/);
  const unknown = await as('fleet_not_a_token_of_this_store');
  assert.equal(unknown.status, 401);
  assert.match(unknown.body, /not known to this controller/);
  assert.equal((await get(`${url}/metrics`)).status, 401);
});

test('the listen rule: loopback is open; beyond it the agent needs a token, the controller TLS or --insecure', () => {
  assert.deepEqual(checkMetricsListen('127.0.0.1:9464', { who: 'agent' }), { host: '127.0.0.1', port: 9464 });
  assert.equal(checkMetricsListen('[::1]:0', { who: 'controller' }).host, '::1');
  assert.equal(checkMetricsListen('localhost:9464', { who: 'agent' }).host, 'localhost');
  assert.throws(
    () => checkMetricsListen('0.0.0.0:9464', { who: 'agent' }),
    (e: BadInputError) => e instanceof BadInputError && /refusing to serve metrics on 0.0.0.0:9464 without a token/.test(e.message) && /--metrics-token-file/.test(e.hint ?? ''),
  );
  assert.equal(checkMetricsListen('0.0.0.0:9464', { who: 'agent', token: true }).port, 9464);
  assert.throws(
    () => checkMetricsListen('10.0.0.5:9464', { who: 'controller' }),
    (e: BadInputError) => /without TLS/.test(e.message) && /--tls-cert and --tls-key/.test(e.hint ?? ''),
  );
  assert.equal(checkMetricsListen('10.0.0.5:9464', { who: 'controller', tls: true }).host, '10.0.0.5');
  assert.equal(checkMetricsListen('10.0.0.5:9464', { who: 'controller', insecure: true }).host, '10.0.0.5');
  assert.throws(() => checkMetricsListen('9464', { who: 'agent' }), /--metrics-listen "9464" is not a listen address/);
});

test('the server itself refuses to serve beyond loopback without a guard, and names a taken port', async (t) => {
  await assert.rejects(
    startMetricsServer({ listen: '0.0.0.0:0', snapshot: async () => SNAPSHOT, health: () => ({ ok: true }) }),
    /without a token check/,
  );
  const { url } = await serve(t);
  const port = new URL(url).port;
  await assert.rejects(
    startMetricsServer({ listen: `127.0.0.1:${port}`, snapshot: async () => SNAPSHOT, health: () => ({ ok: true }) }),
    (e: BadInputError) => /cannot serve metrics on 127.0.0.1:\d+: the address is in use/.test(e.message) && /--metrics-listen/.test(e.hint ?? ''),
  );
});
