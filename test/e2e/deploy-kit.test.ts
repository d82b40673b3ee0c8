// The deploy/ kit (systemd units, container files, compose, Prometheus,
// Grafana, the three-server walkthrough), checked the way each can be on a
// machine with neither systemd running nor a Docker engine:
// - systemd units: `systemd-analyze verify` (any warning fails), the settings
//   that matter, their flags against `fleet … --help`; then the units'
//   command lines run for real (a controller and an agent with TLS made by the
//   README's openssl commands, the readiness checks failing before and passing
//   after, the README's laptop commands creating the agent's token);
// - Dockerfiles: parsed, checked for what matters; their HEALTHCHECKs run
//   against the live processes above;
// - compose.yaml: parsed with `yaml`, checked structurally; NATS started with
//   its arguments where nats-server exists; `docker compose config` where the
//   plugin exists;
// - prometheus.yml and the Grafana dashboard: every PromQL expression against
//   FLEET_METRICS;
// - deploy/README.md: every `fleet …` command's subcommand and flags, links.
// Each check skips loudly (never silently) when its tool is absent.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import * as os from 'node:os';
import * as path from 'node:path';
import { appMetricName, FLEET_METRICS, type MetricName } from '@fleet/protocol';
import { FLEET_BIN, ROOT, freePort, waitFor } from '../harness';

// `yaml` is a dependency of @fleet/protocol: resolved from there.
const YAML = createRequire(require.resolve('@fleet/protocol/package.json'))('yaml') as typeof import('yaml');

const DEPLOY = path.join(ROOT, 'deploy');
const read = (rel: string): string => fs.readFileSync(path.join(DEPLOY, rel), 'utf8');

function loud(t: { diagnostic(msg: string): void; skip(msg?: string): void }, msg: string): void {
  process.stderr.write(`\n*** deploy-kit: SKIPPED: ${msg} ***\n\n`);
  t.diagnostic(`SKIPPED: ${msg}`);
  t.skip(msg);
}

function which(program: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/sbin', '/sbin', '/usr/bin'])) {
    const full = path.join(dir, program);
    try {
      fs.accessSync(full, fs.constants.X_OK);
      return full;
    } catch {
      // not here
    }
  }
  return undefined;
}

// ---------------------------------------------------------------- fleet --help

const helpCache = new Map<string, { path: string[]; options: Set<string> }>();

/** The command `fleet <words> --help` describes (its path) and the options it takes. */
function fleetHelp(words: string[]): { path: string[]; options: Set<string> } {
  const key = words.join(' ');
  const cached = helpCache.get(key);
  if (cached) return cached;
  const r = spawnSync(process.execPath, [FLEET_BIN, ...words, '--help'], {
    encoding: 'utf8',
    env: { ...process.env, NO_COLOR: '1', FLEET_HOME: path.join(os.tmpdir(), 'fleet-deploy-kit-help') },
  });
  const usage = /^Usage: fleet ((?:[a-z][a-z|-]* )*)\[options\]/m.exec(r.stdout);
  assert.ok(r.status === 0 && usage, `fleet ${key} --help failed: ${r.stdout}${r.stderr}`);
  const options = new Set<string>();
  for (const m of r.stdout.matchAll(/^\s+((?:-[a-zA-Z], )?--[a-z][a-z-]*)/gm)) {
    for (const flag of m[1]!.split(', ')) options.add(flag);
  }
  const result = { path: usage[1]!.trim().split(' ').filter(Boolean), options };
  helpCache.set(key, result);
  return result;
}

/** Asserts that `fleet <args>` names a real subcommand and uses only its flags. */
function assertFleetCommand(args: string[], where: string): void {
  const firstFlag = args.findIndex((a) => a.startsWith('-'));
  const words = firstFlag < 0 ? args : args.slice(0, firstFlag);
  const help = fleetHelp(words);
  // Usage names aliases as ls|list.
  assert.ok(help.path.length > 0 && help.path.every((p, i) => p.split('|').includes(words[i]!)),
    `${where}: \`fleet ${args.join(' ')}\`: no such command (help describes \`fleet ${help.path.join(' ')}\`)`);
  for (const a of args) {
    if (!a.startsWith('-')) continue;
    const flag = a.split('=')[0]!;
    assert.ok(help.options.has(flag), `${where}: \`fleet ${help.path.join(' ')}\` has no ${flag} (fleet ${help.path.join(' ')} --help lists ${[...help.options].join(' ')})`);
  }
}

// ---------------------------------------------------------------- systemd

type Unit = Map<string, [string, string][]>;

function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section = '';
  const lines = text.replace(/\\\n/g, ' ').split('\n');
  for (const raw of lines) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(.+)\]$/.exec(line);
    if (sec) {
      section = sec[1]!;
      if (!unit.has(section)) unit.set(section, []);
      continue;
    }
    const eq = line.indexOf('=');
    assert.ok(eq > 0 && section, `not a unit file line: ${line}`);
    unit.get(section)!.push([line.slice(0, eq).trim(), line.slice(eq + 1).trim()]);
  }
  return unit;
}

function values(unit: Unit, section: string, key: string): string[] {
  return (unit.get(section) ?? []).filter(([k]) => k === key).map(([, v]) => v);
}

function one(unit: Unit, section: string, key: string): string | undefined {
  return values(unit, section, key).at(-1);
}

/** Splits a command line as systemd does: whitespace, "double" and 'single' quotes, backslash escapes. */
function systemdSplit(line: string): string[] {
  const words: string[] = [];
  let i = 0;
  while (i < line.length) {
    while (i < line.length && /\s/.test(line[i]!)) i++;
    if (i >= line.length) break;
    let word = '';
    while (i < line.length && !/\s/.test(line[i]!)) {
      const c = line[i]!;
      if (c === '"' || c === "'") {
        const end = line.indexOf(c, i + 1);
        assert.ok(end > i, `unterminated quote in: ${line}`);
        word += c === '"' ? line.slice(i + 1, end).replace(/\\(.)/g, '$1') : line.slice(i + 1, end);
        i = end + 1;
      } else if (c === '\\' && i + 1 < line.length) {
        word += line[i + 1];
        i += 2;
      } else {
        word += c;
        i++;
      }
    }
    words.push(word);
  }
  return words;
}

/** systemd's expansion: a word `$VAR` becomes the value split on whitespace; `${VAR}` is replaced in place; `$$` is `$`. */
function systemdExpand(words: string[], env: Record<string, string>): string[] {
  const out: string[] = [];
  for (const w of words) {
    const whole = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (whole) {
      out.push(...(env[whole[1]!] ?? '').split(/\s+/).filter(Boolean));
      continue;
    }
    out.push(w.replace(/\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (m, name: string | undefined) => (m === '$$' ? '$' : env[name!] ?? '')));
  }
  return out;
}

/** An EnvironmentFile= (KEY=value, KEY="value", comments). */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(line);
    assert.ok(m, `not an env file line: ${line}`);
    let value = m[2]!.trim();
    if (/^".*"$|^'.*'$/.test(value)) value = value.slice(1, -1);
    env[m[1]!] = value;
  }
  return env;
}

function unitEnvironment(unit: Unit): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of values(unit, 'Service', 'Environment')) {
    for (const assignment of systemdSplit(line)) {
      const eq = assignment.indexOf('=');
      env[assignment.slice(0, eq)] = assignment.slice(eq + 1);
    }
  }
  return env;
}

const UNITS = ['fleet-controller', 'fleet-agent'] as const;

describe('deploy/systemd units', () => {
  for (const name of UNITS) {
    test(`${name}.service: the settings that matter`, () => {
      const unit = parseUnit(read(`systemd/${name}.service`));
      const svc = (key: string): string | undefined => one(unit, 'Service', key);
      assert.ok(['simple', 'exec'].includes(svc('Type') ?? 'simple'), `Type=${svc('Type')}: simple or exec (no sd_notify from Node)`);
      assert.ok(values(unit, 'Service', 'ExecStartPost').length > 0, 'a readiness check in ExecStartPost=');
      assert.equal(svc('Restart'), 'on-failure');
      assert.ok(svc('User') && !['root', '0'].includes(svc('User')!), `a dedicated user, not ${svc('User')}`);
      assert.equal(svc('StateDirectory'), 'fleet', '/var/lib/fleet created for the user');
      assert.equal(unitEnvironment(unit).FLEET_HOME, '/var/lib/fleet');
      const envFile = svc('EnvironmentFile')!.replace(/^-/, '');
      assert.equal(envFile, `/etc/fleet/${name.replace('fleet-', '')}.env`);
      assert.ok(fs.existsSync(path.join(DEPLOY, 'systemd', path.basename(envFile))), `deploy/systemd/${path.basename(envFile)} ships the env file`);
      assert.notEqual(svc('MemoryDenyWriteExecute'), 'yes', "V8's JIT needs writable executable memory");
      const exec = systemdSplit(svc('ExecStart')!);
      assert.deepEqual(exec.slice(0, 2), ['/usr/bin/node', '/opt/fleet/packages/cli/bin/fleet.js']);
      assert.ok(fs.existsSync(path.join(ROOT, 'packages/cli/bin/fleet.js')));
      assert.ok(one(unit, 'Install', 'WantedBy') === 'multi-user.target');
      if (name === 'fleet-agent') {
        assert.equal(svc('KillMode'), 'process', 'restarting the agent must kill no app');
        assert.equal(svc('OOMPolicy'), 'continue', 'an app killed by the OOM killer must not stop the agent');
        for (const key of ['PrivateTmp', 'ProtectHome', 'RuntimeDirectory', 'PrivateDevices', 'DynamicUser']) {
          const v = svc(key);
          assert.ok(v === undefined || /^(no|false|0)$/.test(v), `${key}=${v} on the agent breaks the apps it runs (they inherit it, and outlive the agent)`);
        }
      } else {
        assert.ok(exec.includes('--data') && exec[exec.indexOf('--data') + 1] === '/var/lib/fleet/controller',
          'the controller keeps its data apart from an agent FLEET_HOME on the same machine');
        assert.notEqual(svc('KillMode'), 'none');
      }
    });

    test(`${name}.service: ExecStart and the env file use only flags \`fleet --help\` lists`, () => {
      const unit = parseUnit(read(`systemd/${name}.service`));
      const env = { ...unitEnvironment(unit), ...parseEnvFile(read(`systemd/${name.replace('fleet-', '')}.env`)) };
      const words = systemdExpand(systemdSplit(one(unit, 'Service', 'ExecStart')!), env);
      assertFleetCommand(words.slice(2), `${name}.service ExecStart with ${name.replace('fleet-', '')}.env`);
    });
  }

  test('systemd-analyze verify accepts both units without a warning', (t) => {
    const analyze = which('systemd-analyze');
    if (!analyze) {
      loud(t, 'systemd-analyze is not installed: the unit files were not verified');
      return;
    }
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-units-'));
    try {
      // verify checks that ExecStart*= binaries exist: point them at this machine's node and checkout.
      const copy = (name: string, text = read(`systemd/${name}.service`)): string => {
        const file = path.join(dir, `${name}.service`);
        fs.writeFileSync(file, text.replaceAll('/usr/bin/node', process.execPath).replaceAll('/opt/fleet', ROOT));
        return file;
      };
      const verify = (files: string[]) => spawnSync(analyze, ['verify', ...files], { encoding: 'utf8', env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } });
      // This systemd reports a bad setting (a warning, exit 0): so any output counts as a failure below.
      const broken = verify([copy('broken', read('systemd/fleet-agent.service').replace(/^KillMode=process$/m, 'KillMode=proces'))]);
      assert.match(broken.stdout + broken.stderr, /kill mode/i, 'systemd-analyze verify no longer reports a bad KillMode: this check would prove nothing');
      const r = verify(UNITS.map((n) => copy(n)));
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal((r.stdout + r.stderr).trim(), '', `systemd-analyze verify warned:\n${r.stdout}${r.stderr}`);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- Dockerfiles

interface Instruction {
  op: string;
  args: string;
}

function parseDockerfile(text: string): Instruction[][] {
  const logical: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line.startsWith('#')) continue; // comments, also inside continuations, and the # syntax= directive
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  const stages: Instruction[][] = [];
  for (const l of logical) {
    const m = /^([A-Za-z]+)\s+(.*)$/.exec(l);
    assert.ok(m, `not a Dockerfile instruction: ${l}`);
    const ins = { op: m[1]!.toUpperCase(), args: m[2]! };
    if (ins.op === 'FROM') stages.push([]);
    assert.ok(stages.length > 0, `instruction before FROM: ${l}`);
    stages.at(-1)!.push(ins);
  }
  return stages;
}

function execForm(args: string, what: string): string[] {
  const json = args.replace(/^CMD\s+/, '');
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    assert.fail(`${what} is not in exec form (a JSON array): ${args}`);
  }
  assert.ok(Array.isArray(parsed) && parsed.every((w) => typeof w === 'string'), `${what}: ${args}`);
  return parsed as string[];
}

/** The path of /opt/fleet/<rel> of the image in this checkout. */
function inRepo(p: string): string {
  return p.startsWith('/opt/fleet/') ? path.join(ROOT, p.slice('/opt/fleet/'.length)) : p;
}

const DOCKERFILES = { controller: 'docker/Dockerfile.controller', agent: 'docker/Dockerfile.agent' } as const;

function finalStage(file: string): Instruction[] {
  return parseDockerfile(read(file)).at(-1)!;
}

function healthcheck(file: string): string[] {
  const hc = finalStage(file).filter((i) => i.op === 'HEALTHCHECK');
  assert.equal(hc.length, 1, `${file}: one HEALTHCHECK in the final stage`);
  const cmd = /(?:^|\s)CMD\s+(.*)$/.exec(hc[0]!.args);
  assert.ok(cmd, `${file}: HEALTHCHECK CMD …`);
  return execForm(cmd[1]!, `${file} HEALTHCHECK`);
}

describe('deploy/docker', () => {
  for (const [role, file] of Object.entries(DOCKERFILES)) {
    test(`${file}: node:20-slim, npm ci without scripts, non-root, volume, healthcheck`, () => {
      const stages = parseDockerfile(read(file));
      for (const stage of stages) {
        const image = stage[0]!.args.split(/\s+/)[0];
        assert.equal(image, 'node:20-slim', `${file}: every stage FROM node:20-slim`);
      }
      const runs = stages.flat().filter((i) => i.op === 'RUN').map((i) => i.args);
      assert.ok(runs.some((r) => /\bnpm ci\b/.test(r)), `${file}: installs with npm ci (the lockfile, exactly)`);
      for (const r of runs) {
        assert.doesNotMatch(r, /\bnpm (install|i|add)\b|\byarn\b|\bpnpm\b/, `${file}: no npm install: ${r}`);
        for (const m of r.matchAll(/\bnpm (ci|prune)\b[^&;|]*/g)) {
          assert.match(m[0], /--ignore-scripts/, `${file}: dependencies' install scripts must not run: ${m[0]}`);
        }
      }
      for (const c of stages.flat().filter((i) => i.op === 'COPY' && !/--from=/.test(i.args))) {
        const srcs = c.args.split(/\s+/).filter((w) => !w.startsWith('--')).slice(0, -1);
        for (const s of srcs) assert.ok(fs.existsSync(path.join(ROOT, s)), `${file}: COPY ${s}: not in the build context (the repository)`);
      }
      const last = stages.at(-1)!;
      const users = last.filter((i) => i.op === 'USER').map((i) => i.args.split(':')[0]!.trim());
      assert.ok(users.length > 0, `${file}: the final stage sets a USER`);
      assert.ok(!['root', '0'].includes(users.at(-1)!), `${file}: runs as ${users.at(-1)}, not root`);
      const userIndex = last.findLastIndex((i) => i.op === 'USER');
      assert.ok(last.findIndex((i) => i.op === 'ENTRYPOINT' || i.op === 'CMD') > userIndex, `${file}: USER comes before ENTRYPOINT/CMD`);
      const volumes = last.filter((i) => i.op === 'VOLUME').flatMap((i) => (i.args.startsWith('[') ? execForm(i.args, 'VOLUME') : i.args.split(/\s+/)));
      assert.ok(volumes.includes('/var/lib/fleet'), `${file}: VOLUME /var/lib/fleet (data / FLEET_HOME)`);
      assert.ok(last.some((i) => i.op === 'ENV' && /\bFLEET_HOME=\/var\/lib\/fleet\b/.test(i.args)), `${file}: ENV FLEET_HOME=/var/lib/fleet`);
      const hc = healthcheck(file);
      for (const w of hc) if (w.startsWith('/opt/fleet/')) assert.ok(fs.existsSync(inRepo(w)), `${file}: HEALTHCHECK uses ${w}, not in the repository`);
      const entry = execForm(last.find((i) => i.op === 'ENTRYPOINT')!.args, `${file} ENTRYPOINT`);
      assert.ok(entry.includes('/opt/fleet/packages/cli/bin/fleet.js'), `${file}: ENTRYPOINT runs the fleet CLI`);
      const cmd = execForm(last.find((i) => i.op === 'CMD')!.args, `${file} CMD`);
      assert.equal(cmd[0], role);
      assertFleetCommand(cmd, `${file} CMD`);
      if (role === 'agent') assert.ok(/tini|dumb-init/.test(entry[0]!), `${file}: PID 1 is an init that reaps the apps' orphans, not node`);
      const ignore = read(`${file}.dockerignore`).split('\n').map((l) => l.trim());
      for (const must of ['**/node_modules', '**/dist', '.git', 'deploy/secrets']) {
        assert.ok(ignore.includes(must), `${file}.dockerignore leaves out ${must}`);
      }
    });
  }
});

// ---------------------------------------------------------------- the units and images, run

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

function flagValues(cmd: string[], flag: string): string[] {
  return cmd.flatMap((w, i) => (w === flag ? [cmd[i + 1]!] : []));
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

interface Matcher {
  label: string;
  op: string;
  value: string;
}

interface MetricRef {
  /** '' for a bare selector {__name__=~"…"}. */
  name: string;
  matchers: Matcher[];
  /** Functions and aggregations it sits in, outermost first. */
  within: string[];
}

const AGGREGATIONS = new Set(['sum', 'min', 'max', 'avg', 'group', 'stddev', 'stdvar', 'count', 'count_values', 'bottomk', 'topk', 'quantile', 'limitk', 'limit_ratio']);
const GROUPING = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right']);
const OPERATOR_WORDS = new Set(['and', 'or', 'unless', 'bool', 'atan2']);

function readString(src: string, i: number): { value: string; end: number } {
  const q = src[i]!;
  let value = '';
  let j = i + 1;
  while (j < src.length && src[j] !== q) {
    if (src[j] === '\\' && q !== '`') j++;
    value += src[j];
    j++;
  }
  assert.ok(j < src.length, `unterminated string in ${src}`);
  return { value, end: j + 1 };
}

function readMatchers(src: string, i: number): { matchers: Matcher[]; end: number } {
  const matchers: Matcher[] = [];
  let j = i + 1;
  for (;;) {
    while (/[\s,]/.test(src[j] ?? '')) j++;
    if (src[j] === '}') return { matchers, end: j + 1 };
    const m = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*(=~|!~|!=|=)\s*/.exec(src.slice(j));
    assert.ok(m, `bad label matcher at "${src.slice(j)}" in ${src}`);
    j += m[0].length;
    assert.ok(/["'`]/.test(src[j] ?? ''), `label ${m[1]}: a quoted value expected in ${src}`);
    const s = readString(src, j);
    matchers.push({ label: m[1]!, op: m[2]!, value: s.value });
    j = s.end;
  }
}

/** The metric selectors of a PromQL expression, and the labels it groups by. */
function scanPromql(expr: string): { refs: MetricRef[]; grouping: string[]; functions: string[] } {
  const src = expr.replace(/\[[^\]]*\]/g, ' '); // range selectors ([5m], [$__rate_interval])
  const refs: MetricRef[] = [];
  const grouping: string[] = [];
  const functions: string[] = [];
  const stack: string[] = [];
  let pending = '';
  let i = 0;
  while (i < src.length) {
    const c = src[i]!;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '"' || c === "'" || c === '`') {
      i = readString(src, i).end;
    } else if (c === '{') {
      const r = readMatchers(src, i);
      refs.push({ name: '', matchers: r.matchers, within: [...stack] });
      i = r.end;
    } else if (c === '(') {
      stack.push(pending);
      pending = '';
      i++;
    } else if (c === ')') {
      stack.pop();
      i++;
    } else if (/[0-9.]/.test(c)) {
      i += /^[0-9.]+(e[+-]?[0-9]+)?/i.exec(src.slice(i))![0].length;
    } else if (/[a-zA-Z_:]/.test(c)) {
      const word = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(src.slice(i))![0];
      i += word.length;
      while (/\s/.test(src[i] ?? '')) i++;
      if (GROUPING.has(word) && src[i] === '(') {
        const close = src.indexOf(')', i);
        grouping.push(...src.slice(i + 1, close).split(',').map((l) => l.trim()).filter(Boolean));
        i = close + 1;
      } else if (OPERATOR_WORDS.has(word)) {
        // binary operator
      } else if (src[i] === '(' || AGGREGATIONS.has(word)) {
        pending = word;
        functions.push(word);
      } else {
        const ref: MetricRef = { name: word, matchers: [], within: [...stack] };
        if (src[i] === '{') {
          const r = readMatchers(src, i);
          ref.matchers = r.matchers;
          i = r.end;
        }
        refs.push(ref);
      }
    } else {
      i++; // + - * / % ^ == != < > , …
    }
  }
  assert.equal(stack.length, 0, `unbalanced parentheses in ${expr}`);
  return { refs, grouping, functions };
}

const METRICS = new Map<string, MetricName>(FLEET_METRICS.map((m) => [m.name, m]));
const APP_PREFIX = appMetricName('x').slice(0, -1); // fleet_app_
const APP_LABELS = ['host', 'app'];
const SCRAPE_LABELS = ['job'];

/** Checks one expression; returns the Fleet metric names it uses. */
function checkPromql(expr: string, where: string): string[] {
  const { refs, grouping } = scanPromql(expr);
  assert.ok(refs.length > 0, `${where}: no metric in ${expr}`);
  const used: string[] = [];
  const labelsInPlay = new Set<string>(['__name__', ...SCRAPE_LABELS]);
  for (const ref of refs) {
    let allowed: string[];
    const nameMatcher = ref.matchers.find((m) => m.label === '__name__');
    let name = ref.name;
    if (!name) {
      assert.ok(nameMatcher, `${where}: a selector without a metric name in ${expr}`);
      if (nameMatcher.op === '=') name = nameMatcher.value;
    }
    if (name) {
      const metric = METRICS.get(name);
      if (metric) {
        allowed = [...metric.labels];
        used.push(name);
        const counterFn = ref.within.find((f) => ['rate', 'irate', 'increase', 'resets'].includes(f));
        assert.ok(!counterFn || metric.type === 'counter', `${where}: ${counterFn}() of the gauge ${name}`);
      } else {
        assert.ok(name.startsWith(APP_PREFIX) && /^[a-zA-Z_][a-zA-Z0-9_]*$/.test(name),
          `${where}: ${name} is not a metric Fleet exports (packages/protocol/src/metric-names.ts) in ${expr}`);
        allowed = name.endsWith('_bucket') ? [...APP_LABELS, 'le'] : APP_LABELS;
      }
    } else {
      assert.ok(nameMatcher!.op === '=~' && nameMatcher!.value.startsWith(APP_PREFIX) && !nameMatcher!.value.slice(APP_PREFIX.length).includes('|'),
        `${where}: __name__${nameMatcher!.op}"${nameMatcher!.value}" may match metrics Fleet does not export (only ${APP_PREFIX}… by pattern)`);
      allowed = [...APP_LABELS, 'le'];
    }
    for (const m of ref.matchers) {
      if (m.label === '__name__') continue;
      assert.ok(allowed.includes(m.label) || SCRAPE_LABELS.includes(m.label), `${where}: ${name || 'the selector'} has no label ${m.label} (it has ${allowed.join(', ')}) in ${expr}`);
    }
    for (const l of allowed) labelsInPlay.add(l);
  }
  for (const l of grouping) assert.ok(labelsInPlay.has(l), `${where}: groups by ${l}, which none of its metrics has, in ${expr}`);
  return used;
}

describe('PromQL checker (self-test: each rule can fail)', () => {
  test('it rejects what it must', () => {
    assert.throws(() => checkPromql('fleet_instance_cpu_seconds{host="a"}', 't'), /not a metric Fleet exports/);
    assert.throws(() => checkPromql('rate(fleet_instance_memory_bytes[5m])', 't'), /rate\(\) of the gauge/);
    assert.throws(() => checkPromql('fleet_host_load1{app="x"}', 't'), /has no label app/);
    assert.throws(() => checkPromql('sum by (app) (fleet_host_load1)', 't'), /groups by app/);
    assert.throws(() => checkPromql('{__name__=~".+"}', 't'), /may match metrics/);
    assert.deepEqual(checkPromql('sum by (host) (increase(fleet_instance_restarts_total{job="$job", app=~"$app"}[$__rate_interval])) or vector(0)', 't'), ['fleet_instance_restarts_total']);
    assert.deepEqual(checkPromql(`sum(${appMetricName('http.requests')}_rate{app="api"})`, 't'), []);
  });
});

// ---------------------------------------------------------------- Grafana

interface Panel {
  id: number;
  type: string;
  title: string;
  gridPos: { x: number; y: number; w: number; h: number };
  datasource?: { type?: string; uid?: string };
  targets?: { refId: string; expr: string; legendFormat?: string; datasource?: { uid?: string } }[];
  panels?: Panel[];
}

interface Variable {
  name: string;
  type: string;
  query: string | { query: string };
  datasource?: { uid?: string };
  current?: { value?: string | string[] };
}

describe('deploy/grafana/fleet-dashboard.json', () => {
  const dash = JSON.parse(read('grafana/fleet-dashboard.json')) as {
    schemaVersion: number;
    uid: string;
    title: string;
    panels: Panel[];
    templating: { list: Variable[] };
  };
  const panels = dash.panels.flatMap((p) => [p, ...(p.panels ?? [])]);
  const vars = dash.templating.list;

  test('a dashboard Grafana imports: schema, a Prometheus data source variable, unique panel ids, grid positions', () => {
    assert.ok(dash.schemaVersion >= 36 && dash.schemaVersion <= 41, `schemaVersion ${dash.schemaVersion}`);
    assert.ok(dash.uid && dash.title);
    const ds = vars.find((v) => v.type === 'datasource');
    assert.ok(ds && ds.query === 'prometheus', 'a data source variable of type prometheus');
    const dsRef = `\${${ds.name}}`;
    const ids = new Set<number>();
    const KNOWN = new Set(['row', 'timeseries', 'stat', 'table', 'bargauge', 'gauge', 'state-timeline', 'status-history', 'text', 'piechart', 'heatmap', 'barchart']);
    for (const p of panels) {
      assert.ok(Number.isInteger(p.id) && p.id > 0 && !ids.has(p.id), `panel "${p.title}": id ${p.id} unique`);
      ids.add(p.id);
      assert.ok(KNOWN.has(p.type), `panel "${p.title}": type ${p.type}`);
      const g = p.gridPos;
      assert.ok(g && g.x >= 0 && g.w > 0 && g.x + g.w <= 24 && g.h > 0 && g.y >= 0, `panel "${p.title}": gridPos ${JSON.stringify(g)}`);
      if (p.type === 'row' || p.type === 'text') continue;
      assert.equal(p.datasource?.uid, dsRef, `panel "${p.title}" uses the data source variable`);
      assert.ok(p.targets?.length, `panel "${p.title}" has queries`);
      const refIds = new Set<string>();
      for (const t of p.targets!) {
        assert.ok(t.refId && !refIds.has(t.refId), `panel "${p.title}": refId ${t.refId} unique`);
        refIds.add(t.refId);
        assert.ok(!t.datasource || t.datasource.uid === dsRef, `panel "${p.title}" ${t.refId}: data source`);
      }
    }
    for (const v of vars.filter((x) => x.type === 'query')) assert.equal(v.datasource?.uid, dsRef, `variable ${v.name}: data source`);
  });

  test('every query uses only metric names and labels Fleet exports (FLEET_METRICS, fleet_app_…), and all of FLEET_METRICS is shown', () => {
    const used = new Set<string>();
    const defined = new Set(vars.map((v) => v.name));
    const checkVars = (text: string, where: string): void => {
      for (const m of text.matchAll(/\$(?:\{([A-Za-z0-9_]+)(?::[a-z]+)?\}|([A-Za-z0-9_]+))/g)) {
        const name = m[1] ?? m[2]!;
        assert.ok(name.startsWith('__') || defined.has(name), `${where}: $${name} is not a variable of the dashboard`);
      }
    };
    for (const p of panels) {
      for (const t of p.targets ?? []) {
        const where = `panel "${p.title}" ${t.refId}`;
        checkVars(t.expr, where);
        const names = checkPromql(t.expr, where);
        for (const n of names) used.add(n);
        // Legends may only name labels the series can carry.
        const labels = new Set(['__name__', 'job', ...names.flatMap((n) => METRICS.get(n)!.labels), ...(names.length < scanPromql(t.expr).refs.length ? APP_LABELS : [])]);
        for (const m of (t.legendFormat ?? '').matchAll(/\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}/g)) {
          assert.ok(labels.has(m[1]!), `${where}: the legend names {{${m[1]}}}, a label its series do not have`);
        }
      }
    }
    for (const v of vars.filter((x) => x.type === 'query')) {
      const q = typeof v.query === 'string' ? v.query : v.query.query;
      const m = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(q);
      assert.ok(m, `variable ${v.name}: label_values(selector, label), got ${q}`);
      checkVars(m[1]!, `variable ${v.name}`);
      const names = checkPromql(m[1]!, `variable ${v.name}`);
      assert.ok(['job', ...names.flatMap((n) => METRICS.get(n)!.labels)].includes(m[2]!), `variable ${v.name}: ${m[2]} is not a label of ${names.join(', ')}`);
    }
    const missing = FLEET_METRICS.map((m) => m.name).filter((n) => !used.has(n));
    assert.deepEqual(missing, [], `metrics Fleet exports that no panel shows (add a panel to deploy/grafana/fleet-dashboard.json): ${missing.join(', ')}`);
  });
});

// ---------------------------------------------------------------- Prometheus

describe('deploy/prometheus/prometheus.yml', () => {
  const text = read('prometheus/prometheus.yml');
  const config = YAML.parse(text) as {
    scrape_configs: { job_name: string; metrics_path?: string; honor_labels?: boolean; scheme?: string; static_configs: { targets: string[] }[] }[];
  };

  test("scrapes the controller's /metrics (and the agents'), keeping Fleet's own instance label", () => {
    const jobs = config.scrape_configs;
    assert.ok(Array.isArray(jobs) && jobs.length > 0);
    assert.equal(new Set(jobs.map((j) => j.job_name)).size, jobs.length, 'job names unique');
    for (const j of jobs) {
      assert.equal(j.metrics_path ?? '/metrics', '/metrics', `${j.job_name}: the metrics path`);
      assert.equal(j.honor_labels, true, `${j.job_name}: honor_labels, or Prometheus renames Fleet's "instance" label to exported_instance`);
      const targets = j.static_configs.flatMap((c) => c.targets);
      assert.ok(targets.length > 0);
      for (const t of targets) assert.match(t, /^[A-Za-z0-9.-]+:\d+$/, `${j.job_name}: target ${t}`);
    }
    const ctl = jobs.find((j) => j.job_name === 'fleet-controller');
    assert.ok(ctl, 'a fleet-controller job');
    // Where controller.env tells the controller to serve its metrics.
    const args = parseEnvFile(read('systemd/controller.env')).FLEET_CONTROLLER_ARGS?.split(/\s+/) ?? [];
    const metricsListen = flagValues(args, '--metrics-listen')[0];
    assert.ok(metricsListen, 'controller.env sets --metrics-listen');
    assert.ok(ctl.static_configs.flatMap((c) => c.targets).includes(metricsListen), `the controller job scrapes ${metricsListen}`);
    assert.ok(jobs.some((j) => j.job_name === 'fleet-agents'), 'a job for the agents');
    assert.match(text, /^\s*#\s*credentials_file:/m, 'the bearer token file option, commented');
    // The dashboard's default source is one of these jobs.
    const dash = JSON.parse(read('grafana/fleet-dashboard.json')) as { templating: { list: Variable[] } };
    const jobVar = dash.templating.list.find((v) => v.name === 'job');
    assert.ok(jobs.some((j) => j.job_name === jobVar?.current?.value), `the dashboard's default job ${String(jobVar?.current?.value)} is scraped`);
  });

  test('promtool check config accepts it', (t) => {
    const promtool = which('promtool');
    if (!promtool) {
      loud(t, 'promtool is not installed: prometheus.yml was checked structurally only');
      return;
    }
    const r = spawnSync(promtool, ['check', 'config', path.join(DEPLOY, 'prometheus', 'prometheus.yml')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stdout + r.stderr);
  });
});

// ---------------------------------------------------------------- both, in a real Prometheus

function getJson<T>(url: string): Promise<{ status: number; body: T | undefined }> {
  return new Promise((resolve) => {
    http.get(url, { agent: false }, (res) => {
      let text = '';
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        let body: T | undefined;
        try {
          body = JSON.parse(text) as T;
        } catch {
          body = undefined;
        }
        resolve({ status: res.statusCode ?? 0, body });
      });
    }).on('error', () => resolve({ status: 0, body: undefined }));
  });
}

interface PromResult {
  status: string;
  error?: string;
  data: { result: { metric: Record<string, string>; value: [number, string] }[] };
}

describe('prometheus.yml and every dashboard query, in a real Prometheus scraping FLEET_METRICS', () => {
  test('each query returns series, Fleet\'s instance label survives the scrape', async (t) => {
    const bin = which('prometheus');
    if (!bin) {
      loud(t, 'prometheus is not installed (Debian package prometheus): the dashboard queries were not run');
      return;
    }
    // Every metric of the contract, one series each with every label it declares, and an app meter.
    const SAMPLE: Record<string, string> = { host: 'web1', app: 'hello', instance: '0', release: 'v1', status: 'online', deployment: 'd1', version: '1', state: 'running', phase: 'healthy' };
    let scrapes = 0;
    const exposition = (): string => {
      scrapes++;
      const lines: string[] = [];
      for (const m of FLEET_METRICS) {
        lines.push(`# HELP ${m.name} ${m.help}`, `# TYPE ${m.name} ${m.type}`);
        const labels = m.labels.map((l) => `${l}="${SAMPLE[l] ?? 'x'}"`).join(',');
        lines.push(`${m.name}{${labels}} ${m.type === 'counter' ? scrapes : 1}`);
      }
      lines.push(`# TYPE ${appMetricName('requests')}_rate gauge`, `${appMetricName('requests')}_rate{host="web1",app="hello"} 5`);
      return `${lines.join('\n')}\n`;
    };
    const server = http.createServer((req, res) => {
      res.writeHead(req.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain; version=0.0.4' });
      res.end(req.url === '/metrics' ? exposition() : '');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const fakePort = (server.address() as { port: number }).port;
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-prometheus-'));
    const promPort = await freePort();
    // The kit's config as is, but scraping the stand-in every second.
    const config = YAML.parse(read('prometheus/prometheus.yml')) as { global: Record<string, string>; scrape_configs: { static_configs: { targets: string[] }[] }[] };
    config.global = { ...config.global, scrape_interval: '1s', scrape_timeout: '1s' };
    for (const job of config.scrape_configs) job.static_configs = [{ targets: [`127.0.0.1:${fakePort}`] }];
    fs.writeFileSync(path.join(dir, 'prometheus.yml'), YAML.stringify(config));
    let log = '';
    const prom = spawn(bin, [`--config.file=${path.join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${path.join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${promPort}`], { cwd: dir });
    prom.stdout.on('data', (d) => (log += d));
    prom.stderr.on('data', (d) => (log += d));
    const api = `http://127.0.0.1:${promPort}/api/v1`;
    const query = async (q: string): Promise<PromResult> => (await getJson<PromResult>(`${api}/query?query=${encodeURIComponent(q)}`)).body ?? { status: 'no answer', data: { result: [] } };
    try {
      // Two scrapes of both jobs: enough for increase() over a minute.
      await waitFor(async () => {
        const r = await query('min(count_over_time(fleet_host_up[1m]))');
        return r.status === 'success' && Number(r.data.result[0]?.value[1] ?? 0) >= 2 && (await query('count(up == 1)')).data.result[0]?.value[1] === String(config.scrape_configs.length);
      }, { message: `prometheus to scrape every job twice: ${log.slice(-2000)}`, timeoutMs: 30_000, intervalMs: 250 });

      const cpu = await query('fleet_instance_cpu_percent{job="fleet-controller"}');
      assert.equal(cpu.data.result[0]?.metric.instance, '0', `Fleet's instance label after the scrape: ${JSON.stringify(cpu.data.result)}`);
      assert.equal(cpu.data.result[0]?.metric.exported_instance, undefined);

      const dash = JSON.parse(read('grafana/fleet-dashboard.json')) as { panels: Panel[]; templating: { list: Variable[] } };
      const jobVar = dash.templating.list.find((v) => v.name === 'job')!;
      const fill = (q: string): string =>
        q.replaceAll('$job', String(jobVar.current?.value)).replaceAll('$host', '.*').replaceAll('$app', '.*').replaceAll('$__rate_interval', '1m');
      for (const p of dash.panels.flatMap((x) => [x, ...(x.panels ?? [])])) {
        for (const target of p.targets ?? []) {
          const r = await query(fill(target.expr));
          assert.equal(r.status, 'success', `panel "${p.title}" ${target.refId}: ${r.error ?? ''} in ${target.expr}`);
          assert.ok(r.data.result.length > 0, `panel "${p.title}" ${target.refId}: no series for ${fill(target.expr)}`);
        }
      }
      for (const v of dash.templating.list.filter((x) => x.type === 'query')) {
        const q = typeof v.query === 'string' ? v.query : v.query.query;
        const [, selector, label] = /^label_values\((.+),\s*([A-Za-z_][A-Za-z0-9_]*)\)$/.exec(q)!;
        const r = await getJson<{ status: string; data: string[] }>(`${api}/label/${label}/values?match[]=${encodeURIComponent(fill(selector!))}`);
        assert.ok(r.body?.status === 'success' && r.body.data.length > 0, `variable ${v.name}: no values for ${q}`);
      }
    } finally {
      prom.kill('SIGKILL');
      await new Promise((r) => (prom.exitCode !== null || prom.signalCode !== null ? r(undefined) : prom.once('exit', r)));
      await new Promise((r) => server.close(r));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

// ---------------------------------------------------------------- the walkthrough

/** Splits a shell line into words (quotes honoured, nothing expanded). */
function shellWords(line: string): string[] {
  const words: string[] = [];
  for (const m of line.matchAll(/'([^']*)'|"((?:[^"\\]|\\.)*)"|(\S+)/g)) words.push(m[1] ?? m[2] ?? m[3]!);
  return words;
}

describe('deploy/README.md', () => {
  const md = read('README.md');

  test('every fleet command names a real subcommand and only its flags', () => {
    const commands: string[][] = [];
    const lines: string[] = [];
    for (const block of md.matchAll(/```sh\n([\s\S]*?)```/g)) lines.push(...block[1]!.replace(/\\\n\s*/g, ' ').split('\n'));
    for (const span of md.matchAll(/`((?:npx )?fleet [^`]+)`/g)) lines.push(span[1]!);
    for (const line of lines) {
      const code = line.replace(/(^|\s)#.*$/, ''); // comments
      for (const segment of code.split(/&&|\|\||;|\|/)) {
        const words = shellWords(segment.trim());
        const at = words[0] === 'npx' ? 1 : 0;
        if (words[at] !== 'fleet') continue;
        const args: string[] = [];
        for (let i = at + 1; i < words.length; i++) {
          if (/^[<>]/.test(words[i]!)) break; // a redirection ends the arguments
          args.push(words[i]!);
        }
        if (args.length === 0 || args.some((a) => a.includes('…'))) continue;
        commands.push(args);
      }
    }
    assert.ok(commands.length >= 15, `found only ${commands.length} fleet commands in deploy/README.md`);
    for (const args of commands) assertFleetCommand(args, 'deploy/README.md');
  });

  test('its sed commands edit the env files into command lines `fleet --help` accepts', () => {
    const seds = [...md.matchAll(/^sed -i (.+) \/etc\/fleet\/(controller|agent)\.env$/gm)];
    assert.ok(seds.length >= 3, `found ${seds.length} sed commands on the env files`);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-readme-sed-'));
    try {
      for (const [line, expr, which] of seds) {
        const file = path.join(dir, `${which}.env`);
        const before = read(`systemd/${which}.env`);
        fs.writeFileSync(file, before);
        const r = spawnSync('bash', ['-c', `sed -i ${expr} "$1"`, 'sed', file], { encoding: 'utf8' });
        assert.equal(r.status, 0, `${line}: ${r.stderr}`);
        const after = fs.readFileSync(file, 'utf8');
        assert.notEqual(after, before, `${line} changes nothing in ${which}.env`);
        const key = which === 'agent' ? 'FLEET_AGENT_ARGS' : 'FLEET_CONTROLLER_ARGS';
        const args = parseEnvFile(after)[key]!.split(/\s+/);
        assertFleetCommand([which!, ...args], `deploy/README.md: ${line}`);
        if (expr!.includes('--name')) assert.deepEqual(flagValues(args, '--name'), ['web2'], `${line}: web2's agent.env`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('every link resolves', () => {
    const slugs = new Set([...md.matchAll(/^#+\s+(.+)$/gm)].map((m) => m[1]!.toLowerCase().replace(/[^\w\s-]/g, '').replace(/\s/g, '-')));
    for (const m of md.matchAll(/\]\(([^)]+)\)/g)) {
      const target = m[1]!;
      if (/^https?:/.test(target)) continue;
      if (target.startsWith('#')) {
        assert.ok(slugs.has(target.slice(1)), `deploy/README.md: no heading for ${target}`);
        continue;
      }
      assert.ok(fs.existsSync(path.join(DEPLOY, target.split('#')[0]!)), `deploy/README.md links to ${target}, which does not exist`);
    }
  });
});
