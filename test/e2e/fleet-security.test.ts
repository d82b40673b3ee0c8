// Who may do what, and over what: tokens with roles, TLS, and the refusal to
// serve plaintext beyond loopback.
import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { FleetHome, FLEET_BIN, FIXTURE_APP, freePort, ROOT, waitFor } from '../harness';
import { FleetCluster, TOKENS } from '../fleet-cluster';

describe('tokens and roles', { timeout: 120_000 }, () => {
  const c = new FleetCluster(300);
  before(async () => {
    await c.startController();
    await c.startAgent({ name: 'web1', labels: 'role=web', env: { PORT: '0' } });
    assert.equal(c.fleet(['start', FIXTURE_APP, '--name', 'api', '--hosts', 'web1']).code, 0);
  });
  after(() => c.cleanup());

  const as = (token: string, args: string[]) => c.fleet(args, { env: { FLEET_TOKEN: token } });

  test('a wrong token is refused, naming the fix', () => {
    const r = as('fleet_not_a_real_token_at_all_000', ['ls']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /the token is not known to this controller/);
    assert.match(r.stderr, /fleet token create/);
  });

  test('a viewer reads but cannot act, and never sees env values', () => {
    assert.equal(as(TOKENS.viewer, ['ls']).code, 0);
    const seen = as(TOKENS.viewer, ['describe', 'api', '--json']).json<{ hostEnv: Record<string, string> }[]>();
    assert.deepEqual(seen[0].hostEnv, { PORT: '****' });
    const hosts = as(TOKENS.viewer, ['hosts', '--json']).json<{ env: Record<string, string> }[]>();
    assert.deepEqual(hosts[0].env, { PORT: '****' });
    assert.deepEqual(c.hosts()[0].env, { PORT: '0' }, 'an operator sees them');
    assert.equal(as(TOKENS.viewer, ['hosts']).code, 0);
    const r = as(TOKENS.viewer, ['restart', 'api']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /a viewer token cannot run Restart: it needs an operator token/);
  });

  test('an agent token only links agents', () => {
    const r = as(TOKENS.agent, ['ls']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /an agent token cannot run/);
  });

  test('an operator token cannot register an agent', async () => {
    await c.startAgent({ name: 'web2' }, { wait: false, token: c.tokenFile('operator') });
    await waitFor(() => (/needs an agent token/.test(c.agentLogs.get('web2') ?? '') ? true : undefined), { message: 'refusal' });
    assert.equal(c.hosts().some((h) => h.name === 'web2'), false);
    await c.killAgent('web2', 'SIGTERM');
  });

  test('an agent token named for a host registers that host only', async () => {
    const { token } = c.fleet(['token', 'create', '--role', 'agent', '--name', 'web9', '--json']).json<{ token: string }>();
    const file = path.join(c.dir, 'web9.token');
    fs.writeFileSync(file, token, { mode: 0o600 });
    await c.startAgent({ name: 'web8', homeName: 'web8' }, { wait: false, token: file });
    await waitFor(() => (/belongs to host web9; it cannot register as web8/.test(c.agentLogs.get('web8') ?? '') ? true : undefined), {
      message: 'refusal',
    });
    await c.killAgent('web8', 'SIGTERM');
    await c.startAgent({ name: 'web9' }, { token: file });
    await c.killAgent('web9', 'SIGTERM');
  });

  test('token create, use, revoke', () => {
    const created = c.fleet(['token', 'create', '--role', 'viewer', '--name', 'ci', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const { token, info } = created.json<{ token: string; info: { id: string } }>();
    assert.equal(as(token, ['ls']).code, 0);
    const listed = c.fleet(['token', 'ls']);
    assert.match(listed.stdout, new RegExp(`${info.id}\\s+viewer\\s+ci`));
    assert.ok(!listed.stdout.includes(token), 'secrets are never listed');
    // Stored hashed: the secret is nowhere in the controller's data.
    const stored = fs.readFileSync(path.join(c.dir, 'data', 'tokens.json'), 'utf8');
    assert.ok(!stored.includes(token) && !stored.includes(TOKENS.operator));
    assert.equal(c.fleet(['token', 'revoke', 'ci']).code, 0);
    const after = as(token, ['ls']);
    assert.equal(after.code, 1);
    assert.match(after.stderr, /not known/);
  });

  test('revoking a token ends the streams it opened at once', async () => {
    const { token } = c.fleet(['token', 'create', '--role', 'viewer', '--name', 'watcher', '--json']).json<{ token: string }>();
    const follow = c.spawnFleet(['logs', 'api', '-f'], { FLEET_TOKEN: token });
    await waitFor(() => (c.controllerLog.length > 0 ? true : undefined));
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(c.fleet(['token', 'revoke', 'watcher']).code, 0);
    const out = await follow.done;
    assert.equal(out.code, 1);
    assert.match(out.stderr, /this log stream ended: its token was revoked/);
  });
});

describe('listening and TLS', { timeout: 120_000 }, () => {
  const dir = fs.mkdtempSync(path.join(ROOT, '.tmp-tls-'));
  const laptop = new FleetHome('fleet-tls-laptop-');
  after(async () => {
    spawnSync('pkill', ['-f', dir]);
    await laptop.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const controller = (args: string[], home = path.join(dir, 'ctl')) =>
    spawnSync(process.execPath, [FLEET_BIN, 'controller', '--data', path.join(home, 'data'), ...args], {
      encoding: 'utf8',
      timeout: 3000,
      env: { ...process.env, FLEET_HOME: home },
    });

  test('plaintext beyond loopback is refused without --insecure', () => {
    const r = controller(['--listen', '0.0.0.0:0']);
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /refusing to listen on 0\.0\.0\.0:0 without TLS/);
    assert.match(r.stderr, /--tls-cert/);
  });

  test('the first start prints an operator token once', () => {
    const home = path.join(dir, 'first');
    const first = controller(['--listen', '127.0.0.1:0'], home);
    const token = /^\s+(fleet_\S+)$/m.exec(first.stdout)?.[1];
    assert.ok(token, first.stdout + first.stderr);
    const second = controller(['--listen', '127.0.0.1:0'], home);
    assert.ok(!second.stdout.includes('fleet_'), 'shown once only');
  });

  test('TLS: a CLI and an agent with the CA connect; a plaintext client is told what to fix', async (t) => {
    const ssl = spawnSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
      '-keyout', path.join(dir, 'key.pem'), '-out', path.join(dir, 'cert.pem'),
    ]);
    if (ssl.status !== 0) {
      t.skip('openssl not available');
      return;
    }
    const port = await freePort();
    fs.writeFileSync(path.join(dir, 'op.token'), TOKENS.operator);
    fs.writeFileSync(path.join(dir, 'ag.token'), TOKENS.agent);
    const { spawn } = await import('node:child_process');
    const ctl = spawn(process.execPath, [
      FLEET_BIN, 'controller', '--listen', `127.0.0.1:${port}`, '--data', path.join(dir, 'tls-data'),
      '--tls-cert', path.join(dir, 'cert.pem'), '--tls-key', path.join(dir, 'key.pem'),
      '--seed-token', `operator:${path.join(dir, 'op.token')}`, '--seed-token', `agent:${path.join(dir, 'ag.token')}`,
    ], { env: { ...process.env, FLEET_HOME: path.join(dir, 'tls-home') } });
    let log = '';
    ctl.stderr.on('data', (d) => (log += d));
    await waitFor(() => (log.includes('listening on') ? true : undefined), { message: 'TLS controller' });

    const agent = spawn(process.execPath, [
      FLEET_BIN, 'agent', '--controller', `127.0.0.1:${port}`, '--name', 'secure1',
      '--tls-ca', path.join(dir, 'cert.pem'), '--token-file', path.join(dir, 'ag.token'),
    ], { env: { ...process.env, FLEET_HOME: path.join(dir, 'host-secure1') } });
    void agent;

    assert.equal(laptop.fleet(['context', 'add', 'tls', '--controller', `127.0.0.1:${port}`, '--tls-ca', path.join(dir, 'cert.pem'), '--token-file', path.join(dir, 'op.token'), '--use']).code, 0);
    const hosts = await waitFor(() => {
      const r = laptop.fleet(['hosts', '--json']);
      return r.code === 0 && r.json<{ name: string; status: string }[]>().some((h) => h.status === 'ready') ? r : undefined;
    }, { message: 'the agent over TLS' });
    assert.equal(hosts.json<{ name: string }[]>()[0].name, 'secure1');

    assert.equal(laptop.fleet(['context', 'add', 'plain', '--controller', `127.0.0.1:${port}`, '--insecure', '--token-file', path.join(dir, 'op.token')]).code, 0);
    const plain = laptop.fleet(['ls', '--context', 'plain']);
    assert.equal(plain.code, 1);
    assert.match(plain.stderr, /cannot reach controller plain at 127\.0\.0\.1:\d+/);
    assert.match(plain.stderr, /drop --insecure and give --tls-ca/);
    spawnSync(process.execPath, [FLEET_BIN, 'kill'], { env: { ...process.env, FLEET_HOME: path.join(dir, 'host-secure1') } });
    ctl.kill('SIGTERM');
  });
});
