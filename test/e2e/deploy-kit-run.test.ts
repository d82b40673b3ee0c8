// The units' command lines and the Dockerfiles' health checks run for real (no systemd, no Docker).
// Each check skips loudly (never silently) when its tool is absent.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { FLEET_METRICS } from '@fleet/protocol';
import { FLEET_BIN, ROOT, freePort, waitFor } from '../harness';
import { DOCKERFILES, Unit, healthcheck, loud, one, parseEnvFile, parseUnit, read, systemdExpand, systemdSplit, unitEnvironment, which } from '../deploy-kit/kit';

describe('the units and healthchecks, run for real (no systemd, no Docker)', () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-deploy-kit-'));
  const home = path.join(tmp, 'home'); // HOME of the README's commands
  const etc = path.join(tmp, 'etc-fleet'); // /etc/fleet
  const varLib = path.join(tmp, 'var-lib-fleet'); // /var/lib/fleet: controller data and agent FLEET_HOME, as on one machine
  const caDir = path.join(tmp, 'ca');
  const laptopHome = path.join(tmp, 'laptop');
  const children: ChildProcess[] = [];
  let port = 0;
  let ctlMetricsPort = 0;
  let agentMetricsPort = 0;
  let controllerLog = '';
  let agentLog = '';
  let controller: ChildProcess | undefined;
  let agent: ChildProcess | undefined;
  let agentEnv: Record<string, string> = {};

  const remap = (s: string): string =>
    s.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/fleet', ROOT).replaceAll('/var/lib/fleet', varLib).replaceAll('/etc/fleet', etc);

  function start(words: string[], env: Record<string, string>, onData: (d: string) => void): ChildProcess {
    const child = spawn(words[0]!, words.slice(1), { cwd: tmp, env });
    child.stdout!.on('data', (d: Buffer) => onData(d.toString()));
    child.stderr!.on('data', (d: Buffer) => onData(d.toString()));
    children.push(child);
    return child;
  }

  /** Its exit code; -99 if still running after timeoutMs. */
  function exited(child: ChildProcess, timeoutMs = 20_000): Promise<number> {
    return new Promise((resolve) => {
      if (child.exitCode !== null) return resolve(child.exitCode);
      const timer = setTimeout(() => resolve(-99), timeoutMs);
      child.once('exit', (code) => {
        clearTimeout(timer);
        resolve(code ?? -1);
      });
    });
  }

  /** The unit's environment (Environment= then the env file over it), paths moved into the temp dir. */
  function serviceEnv(unit: Unit, envFile: Record<string, string>): Record<string, string> {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries({ ...unitEnvironment(unit), ...envFile })) env[k] = remap(v);
    return env;
  }

  function readmeBlock(needle: string): string {
    const blocks = [...read('README.md').matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
    const block = blocks.find((b) => b.includes(needle));
    assert.ok(block, `deploy/README.md has a sh block with ${needle}`);
    return block;
  }

  function bash(script: string, cwd: string, env: Record<string, string> = {}): void {
    const r = spawnSync('bash', ['-euo', 'pipefail', '-c', script], {
      cwd,
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, NO_COLOR: '1', ...env },
      timeout: 60_000,
    });
    assert.equal(r.status, 0, `failed (${r.status}):\n${script}\n${r.stdout}${r.stderr}`);
  }

  function laptop(args: string[]) {
    return spawnSync(process.execPath, [FLEET_BIN, ...args], { encoding: 'utf8', env: { ...process.env, HOME: home, FLEET_HOME: laptopHome, NO_COLOR: '1', FLEET_CONTEXT: '' } });
  }

  before(async () => {
    for (const d of [home, etc, path.join(etc, 'tls'), varLib, caDir]) fs.mkdirSync(d, { recursive: true });
    port = await freePort();
    ctlMetricsPort = await freePort();
    agentMetricsPort = await freePort();
  });

  after(async () => {
    for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    // The agent's FLEET_HOME may hold runners if anything was started: none is, but never leave any.
    spawnSync(process.execPath, [FLEET_BIN, 'kill'], { env: { ...process.env, FLEET_HOME: varLib, FLEET_CONTEXT: 'local' } });
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  test("the README's openssl commands make a CA and a controller certificate", (t) => {
    if (!which('openssl')) {
      loud(t, 'openssl is not installed: the TLS walkthrough and everything after it were not run');
      return;
    }
    const block = readmeBlock('openssl req -x509');
    assert.match(block, /^CTL=ctl\.example\.com/m);
    bash(block.replace(/^CTL=ctl\.example\.com/m, 'CTL=localhost'), caDir);
    for (const f of ['ca.pem', 'controller.pem', 'controller.key']) fs.copyFileSync(path.join(caDir, f), path.join(etc, 'tls', f));
    const text = spawnSync('openssl', ['x509', '-in', path.join(caDir, 'controller.pem'), '-noout', '-text'], { encoding: 'utf8' }).stdout;
    assert.match(text, /DNS:localhost/);
  });

  test("the controller unit's command line and controller.env: ready only once it serves; the first start prints the operator token", async (t) => {
    if (!fs.existsSync(path.join(etc, 'tls', 'controller.pem'))) {
      loud(t, 'no certificate (openssl missing?)');
      return;
    }
    const unit = parseUnit(read('systemd/fleet-controller.service'));
    const envFile = parseEnvFile(read('systemd/controller.env'));
    assert.ok(envFile.FLEET_LISTEN, 'controller.env sets FLEET_LISTEN');
    envFile.FLEET_LISTEN = `127.0.0.1:${port}`; // a free port on loopback instead of 0.0.0.0:7070
    assert.ok(envFile.FLEET_CONTROLLER_ARGS?.includes('--metrics-listen 127.0.0.1:9464'), 'controller.env serves metrics on 127.0.0.1:9464');
    envFile.FLEET_CONTROLLER_ARGS = envFile.FLEET_CONTROLLER_ARGS.replace('127.0.0.1:9464', `127.0.0.1:${ctlMetricsPort}`);
    const env = { PATH: process.env.PATH!, HOME: home, NO_COLOR: '1', ...serviceEnv(unit, envFile) };
    const exec = systemdExpand(systemdSplit(one(unit, 'Service', 'ExecStart')!), env).map(remap);
    const ready = systemdExpand(systemdSplit(one(unit, 'Service', 'ExecStartPost')!), env).map(remap);

    // systemd starts ExecStartPost= right after the main process: it must wait for the port.
    const check = start(ready, env, () => {});
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(check.exitCode, null, 'the readiness check passed before the controller listened');
    let stdout = '';
    controller = start(exec, env, (d) => (controllerLog += d));
    controller.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
    assert.equal(await exited(check), 0, `readiness check: ${controllerLog}`);
    assert.match(controllerLog, /listening on 127\.0\.0\.1:\d+ \(TLS\)/);
    assert.ok(fs.existsSync(path.join(varLib, 'controller', 'tokens.json')), 'data in /var/lib/fleet/controller');
    const token = await waitFor(() => /^\s+(fleet_\S+)$/m.exec(stdout)?.[1], { message: `the operator token on stdout: ${controllerLog}` });
    fs.mkdirSync(path.join(home, '.fleet'), { recursive: true });
    fs.writeFileSync(path.join(home, '.fleet', 'prod.token'), `${token}\n`, { mode: 0o600 });
  });

  test("the README's laptop commands: a context over TLS, agent tokens", (t) => {
    if (!controller) {
      loud(t, 'no controller');
      return;
    }
    const block = readmeBlock('fleet context add prod');
    assert.ok(block.includes('ctl.example.com:7070'));
    const script = `fleet() { "${process.execPath}" "${FLEET_BIN}" "$@"; }\n${block.replaceAll('ctl.example.com:7070', `localhost:${port}`)}`;
    bash(script, caDir, { FLEET_HOME: laptopHome });
    assert.match(fs.readFileSync(path.join(caDir, 'web1.token'), 'utf8'), /^fleet_\S+\n$/);
    fs.copyFileSync(path.join(caDir, 'web1.token'), path.join(etc, 'agent.token'));
  });

  test("the agent unit's command line and agent.env: ready once it answers ping; linked over TLS as web1", async (t) => {
    if (!fs.existsSync(path.join(etc, 'agent.token'))) {
      loud(t, 'no agent token (an earlier step did not run)');
      return;
    }
    const unit = parseUnit(read('systemd/fleet-agent.service'));
    const envFile = parseEnvFile(read('systemd/agent.env'));
    assert.ok(envFile.FLEET_AGENT_ARGS?.includes('ctl.example.com:7070'));
    envFile.FLEET_AGENT_ARGS = envFile.FLEET_AGENT_ARGS.replace('ctl.example.com:7070', `localhost:${port}`);
    assert.ok(envFile.FLEET_AGENT_ARGS.includes('--metrics-listen 127.0.0.1:9465'), 'agent.env serves metrics on 127.0.0.1:9465');
    envFile.FLEET_AGENT_ARGS = envFile.FLEET_AGENT_ARGS.replace('127.0.0.1:9465', `127.0.0.1:${agentMetricsPort}`);
    agentEnv = { HOME: home, NO_COLOR: '1', ...serviceEnv(unit, envFile) };
    agentEnv.PATH = `${path.dirname(process.execPath)}:${agentEnv.PATH}`;
    const exec = systemdExpand(systemdSplit(one(unit, 'Service', 'ExecStart')!), agentEnv).map(remap);
    const ready = systemdExpand(systemdSplit(one(unit, 'Service', 'ExecStartPost')!), agentEnv).map(remap);
    assert.ok(exec.includes('--tls-ca') && exec.includes('--token-file'));

    const check = start(ready, agentEnv, () => {});
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(check.exitCode, null, 'the readiness check passed before the agent ran');
    agent = start(exec, agentEnv, (d) => (agentLog += d));
    assert.equal(await exited(check), 0, `readiness check: ${agentLog}`);
    const hosts = await waitFor(() => {
      const r = laptop(['hosts', '--json']);
      const rows = r.status === 0 ? (JSON.parse(r.stdout) as { name: string; status: string; labels: Record<string, string> }[]) : [];
      return rows.find((h) => h.name === 'web1' && h.status === 'ready');
    }, { message: `web1 ready in fleet hosts: ${agentLog}` });
    assert.deepEqual(hosts.labels, { role: 'web', zone: 'a' });
  });

  test('--metrics-listen of the env files: /healthz answers, /metrics declares every family of FLEET_METRICS', async (t) => {
    if (!controller || !agent) {
      loud(t, 'no controller and agent (an earlier step did not run)');
      return;
    }
    for (const [who, mport] of [['controller', ctlMetricsPort], ['agent', agentMetricsPort]] as const) {
      const get = (p: string) => new Promise<{ status: number; body: string }>((resolve) => {
        http.get(`http://127.0.0.1:${mport}${p}`, { agent: false }, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        }).on('error', (err) => resolve({ status: 0, body: String(err) }));
      });
      const health = await get('/healthz');
      assert.equal(health.status, 200, `${who} /healthz: ${health.body}`);
      const metrics = await waitFor(async () => {
        const r = await get('/metrics');
        return r.status === 200 && r.body.includes('fleet_host_up{host="web1"}') ? r.body : undefined;
      }, { message: `${who} /metrics with web1` });
      for (const m of FLEET_METRICS) assert.match(metrics, new RegExp(`^# TYPE ${m.name} ${m.type}$`, 'm'), `${who} /metrics declares ${m.name} (${m.type})`);
    }
  });

  test("the images' HEALTHCHECKs pass against the live controller and agent, and fail once they stop", async (t) => {
    if (!controller || !agent) {
      loud(t, 'no controller and agent (an earlier step did not run)');
      return;
    }
    const run = (file: string, env: Record<string, string>) => {
      const words = healthcheck(file).map((w) => (w === 'node' ? process.execPath : remap(w).replace('127.0.0.1:7070', `127.0.0.1:${port}`)));
      return spawnSync(words[0]!, words.slice(1), { encoding: 'utf8', env, timeout: 20_000 });
    };
    const ctlEnv = { PATH: process.env.PATH!, FLEET_HOME: path.join(tmp, 'ctl-image-home') };
    const agEnv = { PATH: `${path.dirname(process.execPath)}:${process.env.PATH}`, FLEET_HOME: varLib };
    let r = run(DOCKERFILES.controller, ctlEnv);
    assert.equal(r.status, 0, r.stderr);
    r = run(DOCKERFILES.agent, agEnv);
    assert.equal(r.status, 0, r.stderr);

    // SIGTERM, as systemd and docker stop send it: both exit 0, so Restart=on-failure leaves them stopped.
    agent.kill('SIGTERM');
    assert.equal(await exited(agent), 0, agentLog);
    controller.kill('SIGTERM');
    assert.equal(await exited(controller), 0, controllerLog);
    r = run(DOCKERFILES.controller, ctlEnv);
    assert.notEqual(r.status, 0, 'controller healthcheck passed with no controller');
    r = run(DOCKERFILES.agent, agEnv);
    assert.notEqual(r.status, 0, 'agent healthcheck passed with no agent');
  });
});

// ---------------------------------------------------------------- compose

