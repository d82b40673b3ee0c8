// deploy/compose.yaml: parsed and checked structurally; NATS started with its arguments.
// Each check skips loudly (never silently) when its tool is absent.
import { describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { ROOT, freePort, waitFor } from '../harness';
import { DEPLOY, YAML, assertFleetCommand, flagValues, loud, read, which } from '../deploy-kit/kit';

interface ComposeService {
  image?: string;
  build?: { context: string; dockerfile: string };
  command?: string[] | string;
  volumes?: string[];
  secrets?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition?: string }> | string[];
}

interface Compose {
  services: Record<string, ComposeService>;
  volumes?: Record<string, unknown>;
  secrets?: Record<string, { file?: string }>;
}


describe('deploy/compose.yaml', () => {
  const compose = YAML.parse(read('compose.yaml'), { merge: true }) as Compose;

  test('a controller, NATS with JetStream, two agents: each dialling the controller with a seeded token, its own FLEET_HOME volume', () => {
    const s = compose.services;
    assert.deepEqual(Object.keys(s).sort(), ['agent1', 'agent2', 'controller', 'nats']);
    const declaredVolumes = new Set(Object.keys(compose.volumes ?? {}));
    const declaredSecrets = compose.secrets ?? {};
    for (const [name, svc] of Object.entries(s)) {
      for (const v of svc.volumes ?? []) {
        const src = v.split(':')[0]!;
        if (!src.startsWith('.') && !src.startsWith('/')) assert.ok(declaredVolumes.has(src), `${name}: volume ${src} is not declared`);
      }
      for (const sec of svc.secrets ?? []) assert.ok(declaredSecrets[sec], `${name}: secret ${sec} is not declared`);
      for (const p of svc.ports ?? []) assert.match(String(p), /^127\.0\.0\.1:/, `${name}: port ${p} is published beyond this machine`);
      if (svc.build) {
        const dockerfile = path.resolve(DEPLOY, svc.build.context, svc.build.dockerfile);
        assert.ok(fs.existsSync(dockerfile), `${name}: ${dockerfile} does not exist`);
        assert.equal(path.resolve(DEPLOY, svc.build.context), ROOT, `${name}: the build context is the repository`);
      }
      assert.ok(Array.isArray(svc.command), `${name}: command as a list (no shell splitting)`);
    }
    for (const [name, sec] of Object.entries(declaredSecrets)) {
      assert.ok(sec.file?.startsWith('./secrets/'), `secret ${name}: a file under deploy/secrets (git-ignored)`);
    }
    assert.match(read('.gitignore'), /^secrets\/$/m, 'deploy/.gitignore keeps the secrets out of git');

    const ctl = s.controller!;
    const ctlCmd = ctl.command as string[];
    assert.equal(ctlCmd[0], 'controller');
    assertFleetCommand(ctlCmd, 'compose controller command');
    assert.ok(!ctlCmd.includes('--insecure'), 'the compose controller serves TLS');
    const listenPort = /:(\d+)$/.exec(flagValues(ctlCmd, '--listen')[0] ?? '')?.[1];
    assert.ok(listenPort, 'the controller --listen host:port');
    const secretPath = (svc: ComposeService, file: string, what: string): string => {
      const m = /^\/run\/secrets\/([A-Za-z0-9_.-]+)$/.exec(file);
      assert.ok(m, `${what}: ${file} is not a compose secret`);
      assert.ok(svc.secrets?.includes(m[1]!), `${what}: the service does not get secret ${m[1]}`);
      return m[1]!;
    };
    for (const f of ['--tls-cert', '--tls-key']) secretPath(ctl, flagValues(ctlCmd, f)[0]!, `controller ${f}`);
    const seeded = new Map(flagValues(ctlCmd, '--seed-token').map((v) => {
      const [role, file] = v.split(/:(.*)/s) as [string, string];
      return [secretPath(ctl, file, 'controller --seed-token'), role];
    }));
    assert.ok([...seeded.values()].includes('operator'), 'an operator token is seeded (a seeded store prints none at the first start)');

    const homes = new Set<string>();
    const names = new Set<string>();
    for (const a of ['agent1', 'agent2']) {
      const svc = s[a]!;
      const cmd = svc.command as string[];
      assert.equal(cmd[0], 'agent');
      assertFleetCommand(cmd, `compose ${a} command`);
      assert.deepEqual(flagValues(cmd, '--controller'), [`controller:${listenPort}`], `${a} dials the controller service on its port`);
      const token = secretPath(svc, flagValues(cmd, '--token-file')[0]!, `${a} --token-file`);
      assert.equal(seeded.get(token), 'agent', `${a}: its token ${token} is seeded on the controller as an agent token`);
      secretPath(svc, flagValues(cmd, '--tls-ca')[0]!, `${a} --tls-ca`);
      const name = flagValues(cmd, '--name')[0]!;
      assert.ok(name && !names.has(name), `${a}: a --name of its own`);
      names.add(name);
      const home = (svc.volumes ?? []).find((v) => v.split(':')[1] === '/var/lib/fleet')?.split(':')[0];
      assert.ok(home && declaredVolumes.has(home), `${a}: FLEET_HOME (/var/lib/fleet) on a declared named volume`);
      assert.ok(!homes.has(home), `${a}: its FLEET_HOME volume is its own`);
      homes.add(home);
      const deps = svc.depends_on;
      assert.ok(deps && !Array.isArray(deps) && deps.controller?.condition === 'service_healthy', `${a} waits for a healthy controller`);
    }

    const nats = s.nats!;
    assert.match(nats.image ?? '', /^nats:2(\.|$)/);
    const natsCmd = nats.command as string[];
    const natsPort = flagValues(natsCmd, '--port')[0] ?? flagValues(natsCmd, '-p')[0] ?? '4222';
    for (const [name, svc] of Object.entries(s)) {
      for (const url of flagValues((svc.command ?? []) as string[], '--nats')) {
        assert.equal(url, `nats://nats:${natsPort}`, `${name}: --nats points at the nats service`);
        const deps = svc.depends_on;
        assert.ok(deps && !Array.isArray(deps) && deps.nats, `${name} starts after nats`);
      }
    }
    assert.ok(natsCmd.includes('--jetstream') || natsCmd.includes('-js'), 'JetStream enabled');
    const store = flagValues(natsCmd, '--store_dir')[0] ?? flagValues(natsCmd, '-sd')[0];
    assert.ok(store && (nats.volumes ?? []).some((v) => v.split(':')[1] === store && declaredVolumes.has(v.split(':')[0]!)), 'the JetStream store on a volume');
  });

  test("nats-server takes the compose file's arguments and serves JetStream", async (t) => {
    const bin = which('nats-server');
    if (!bin) {
      loud(t, 'nats-server is not installed: the NATS command line was not run');
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-nats-'));
    const [clientPort, httpPort] = [await freePort(), await freePort()];
    const args = (compose.services.nats!.command as string[]).map((w) => (w === '/data' ? dir : w === '8222' ? String(httpPort) : w));
    assert.ok(args.includes(String(httpPort)), 'the monitoring port 8222');
    const child = spawn(bin, [...args, '--port', String(clientPort), '--addr', '127.0.0.1'], { stdio: 'ignore' });
    try {
      const jsz = await waitFor(() => new Promise<string | undefined>((resolve) => {
        http.get(`http://127.0.0.1:${httpPort}/jsz`, (res) => {
          let body = '';
          res.on('data', (d) => (body += d));
          res.on('end', () => resolve(res.statusCode === 200 ? body : undefined));
        }).on('error', () => resolve(undefined));
      }), { message: 'nats-server monitoring /jsz' });
      const parsed = JSON.parse(jsz) as { config?: { store_dir?: string }; disabled?: boolean };
      assert.ok(!parsed.disabled && parsed.config?.store_dir?.startsWith(dir), `JetStream on, stored in the volume: ${jsz}`);
    } finally {
      child.kill('SIGKILL');
      await new Promise((r) => (child.exitCode !== null || child.signalCode !== null ? r(undefined) : child.once('exit', r)));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('docker compose config accepts the file', (t) => {
    const docker = which('docker');
    const version = docker ? spawnSync(docker, ['compose', 'version'], { encoding: 'utf8' }) : undefined;
    if (!docker || version?.status !== 0) {
      loud(t, `the docker compose plugin is not installed${docker ? ` (docker compose version: ${(version?.stderr ?? '').trim().split('\n')[0]})` : ''}: compose.yaml was checked structurally only`);
      return;
    }
    // In a copy with stand-in secrets, so it never depends on (or reads) real ones.
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-compose-'));
    try {
      fs.mkdirSync(path.join(dir, 'deploy', 'secrets', 'tls'), { recursive: true });
      fs.copyFileSync(path.join(DEPLOY, 'compose.yaml'), path.join(dir, 'deploy', 'compose.yaml'));
      fs.symlinkSync(path.join(DEPLOY, 'docker'), path.join(dir, 'deploy', 'docker'));
      for (const sec of Object.values(compose.secrets ?? {})) fs.writeFileSync(path.join(dir, 'deploy', sec.file!), 'stand-in\n');
      const r = spawnSync(docker, ['compose', '-f', path.join(dir, 'deploy', 'compose.yaml'), 'config', '-q'], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- PromQL against FLEET_METRICS

