// fleet dev up: a whole fleet on one machine, for trying Fleet out. A real
// controller on loopback, N real agents (web1..webN, each its own FLEET_HOME
// under the demo folder), the example app on every host, and a `dev` context in
// the user's FLEET_HOME, so every command works as it would against servers.
//
// Lifecycle:  check → clean a crashed run's leftovers → controller → agents
//   ready → start the app → (running) → signal or a crash → stop apps (fleet kill
//   per host) → agents → controller → "demo stopped".
// Invariants: every child runs `fleet` itself (process.execPath + the bin being
// run), in its own process group, so a terminal's Ctrl-C reaches only this
// process, which then stops them in order (an agent interrupted on its own would
// leave its apps running). Children log to files in the demo folder. A demo
// folder serves one demo at a time (dev.pid); each run starts from empty state.
import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import type { Command } from 'commander';
import { clientCredentials, ConflictError, HostStatus, NotFoundError, OperationFailedError, resolveHome, UnavailableError } from '@fleet/protocol';
import { createControllerClient, wrapClient, type FleetApi } from '../client';
import { addContext } from '../contexts/context-store';
import type { CommandContext } from '../context';
import { EXIT_FAILED, EXIT_OK } from '../exit-codes';
import { parseCount } from '../flag-parsers';
import { UsageError } from '../usage-error';

export const DEV_CONTEXT = 'dev';
export const DEMO_APP = 'hello';
const MAX_HOSTS = 20;
const READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;

export interface DevUpFlags {
  hosts: number;
  port: number;
  appPort: number;
  dir?: string;
}

export interface DemoHost {
  name: string;
  home: string;
  labels: string;
  appPort: number;
  log: string;
}

export interface DemoPlan {
  dir: string;
  controllerData: string;
  controllerLog: string;
  tokenFiles: { operator: string; agent: string };
  hosts: DemoHost[];
}

/** Where everything goes; pure, so the layout is stated once. */
export function planDemo(dir: string, count: number, firstAppPort: number): DemoPlan {
  const hosts: DemoHost[] = [];
  for (let i = 0; i < count; i++) {
    const name = `web${i + 1}`;
    hosts.push({
      name,
      home: path.join(dir, 'hosts', name),
      labels: `role=web,zone=${i % 2 === 0 ? 'a' : 'b'}`,
      appPort: firstAppPort + i,
      log: path.join(dir, `${name}.log`),
    });
  }
  return {
    dir,
    controllerData: path.join(dir, 'controller'),
    controllerLog: path.join(dir, 'controller.log'),
    tokenFiles: { operator: path.join(dir, 'operator.token'), agent: path.join(dir, 'agent.token') },
    hosts,
  };
}

/** The `fleet` bin to re-invoke: the one being run, else the package's own (bundled or not). */
export function fleetBin(argv1: string | undefined = process.argv[1], here: string = __dirname): string {
  if (argv1 && /^fleet(\.js)?$/.test(path.basename(argv1)) && fs.existsSync(argv1)) return argv1;
  for (const up of [['..'], ['..', '..', '..']]) {
    const bin = path.join(here, ...up, 'bin', 'fleet.js'); // dist/ (bundle) or dist/src/commands/
    if (fs.existsSync(bin)) return bin;
  }
  throw new NotFoundError('cannot find the fleet bin to start the demo with', { hint: 'run the demo from a fleet checkout: npm run demo' });
}

/** The example app, found in the checkout the bin belongs to. */
export function exampleApp(bin: string): string {
  for (let dir = path.dirname(fs.realpathSync(bin)); ; dir = path.dirname(dir)) {
    const app = path.join(dir, 'examples', 'hello', 'server.js');
    if (fs.existsSync(app)) return app;
    if (path.dirname(dir) === dir) break;
  }
  throw new NotFoundError('cannot find examples/hello/server.js, the demo app', {
    hint: 'the demo runs from a fleet source checkout: git clone it, npm install, npm run demo',
  });
}

/** Binds the port as the server would and lets go; 0 returns a free port. */
function probePort(port: number, host?: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(port, host, () => {
      const bound = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(bound));
    });
  });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Alive, and (where /proc tells) running with `marker` on its command line: not a reused pid. */
function runsWith(pid: number, marker: string): boolean {
  if (!isAlive(pid)) return false;
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker);
  } catch {
    return true;
  }
}

async function waitExit(pid: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
}

function readPid(file: string): number | undefined {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function tail(file: string, lines = 8): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).map((l) => `    ${l}\n`).join('');
  } catch {
    return '';
  }
}

interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** One demo run: the children it started, and how to stop them in order. */
class Demo {
  controller?: ChildProcess;
  readonly agents = new Map<string, ChildProcess>();
  /** Short-lived `fleet start` / `fleet kill` runs, killed if the demo stops under them. */
  private readonly helpers = new Set<ChildProcess>();
  private stopping = false;
  /** dev.pid is ours: this run claimed the folder. */
  ownsDir = false;
  private crashed?: (why: string) => void;
  readonly crash = new Promise<string>((resolve) => (this.crashed = resolve));

  constructor(
    readonly plan: DemoPlan,
    private readonly bin: string,
    private readonly env: NodeJS.ProcessEnv,
  ) {}

  /** A long-running fleet process in its own group, output to `log`. */
  spawnLogged(what: string, args: string[], env: NodeJS.ProcessEnv, log: string): ChildProcess {
    if (this.stopping) throw new OperationFailedError('the demo is stopping');
    const fd = fs.openSync(log, 'a', 0o600);
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [this.bin, ...args], { env: { ...this.env, ...env }, stdio: ['ignore', fd, fd], detached: true });
    } finally {
      fs.closeSync(fd);
    }
    child.on('exit', (code, signal) => {
      if (!this.stopping) this.crashed?.(`${what} exited (${signal ?? `code ${code}`}); its log: ${log}\n${tail(log)}`);
    });
    return child;
  }

  /** A short fleet command; resolves with its output, never rejects. */
  run(args: string[], env: NodeJS.ProcessEnv, opts: { cwd?: string; timeoutMs?: number } = {}): Promise<RunResult> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [this.bin, ...args], {
        env: { ...this.env, ...env },
        cwd: opts.cwd ?? this.plan.dir,
        stdio: ['ignore', 'pipe', 'pipe'],
        detached: true,
        timeout: opts.timeoutMs ?? 60_000,
      });
      this.helpers.add(child);
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (d) => (stdout += d));
      child.stderr!.on('data', (d) => (stderr += d));
      child.on('error', (err) => (stderr += `${err.message}\n`));
      child.on('close', (code, signal) => {
        this.helpers.delete(child);
        resolve({ code: code ?? (signal ? 1 : 0), stdout, stderr });
      });
    });
  }

  /**
   * Stops a host's apps and its daemon. When the agent is gone but apps may
   * remain, a local daemon is started first (it re-adopts them) so kill finds them.
   */
  async stopHost(home: string): Promise<void> {
    const env = { FLEET_HOME: home, FLEET_CONTEXT: 'local' };
    const first = await this.run(['kill', '--json'], env, { timeoutMs: 30_000 });
    const noDaemon = first.code === 0 && /"killed":\s*false/.test(first.stdout);
    if (noDaemon && fs.existsSync(path.join(home, 'state.json'))) {
      await this.run(['ls', '--json'], env, { timeoutMs: 30_000 });
      await this.run(['kill', '--json'], env, { timeoutMs: 30_000 });
    }
  }

  /** Stops what this run started (never another demo's hosts), then drops the pid files. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const h of this.helpers) h.kill('SIGTERM');
    await Promise.all(this.plan.hosts.filter((h) => this.agents.has(h.name)).map((h) => this.stopHost(h.home)));
    // After fleet kill each agent exits on its own; the grace is for one that does not.
    await Promise.all([...this.agents.values()].map((c) => stopChild(c, STOP_GRACE_MS)));
    if (this.controller) await stopChild(this.controller, 0);
    if (this.ownsDir) {
      fs.rmSync(path.join(this.plan.dir, 'dev.pid'), { force: true });
      fs.rmSync(path.join(this.plan.dir, 'controller.pid'), { force: true });
    }
  }
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

/** Waits `graceMs` for the child to exit, then SIGTERM, then SIGKILL. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  const gone = (ms: number): Promise<boolean> =>
    exited(child)
      ? Promise.resolve(true)
      : new Promise((resolve) => {
          const t = setTimeout(() => resolve(exited(child)), ms);
          child.once('exit', () => {
            clearTimeout(t);
            resolve(true);
          });
        });
  if (await gone(graceMs)) return;
  child.kill('SIGTERM');
  if (await gone(STOP_GRACE_MS)) return;
  child.kill('SIGKILL');
  await gone(STOP_GRACE_MS);
}

/** Polls `fn` until it is truthy, failing on `broken()` (a child died) or after the timeout. */
async function until<T>(fn: () => Promise<T | undefined>, what: string, broken: () => string | undefined): Promise<T> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    const why = broken();
    if (why) throw new OperationFailedError(`${what}: ${why}`);
    const v = await fn().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new UnavailableError(`timed out after ${READY_TIMEOUT_MS / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Refuses a folder another demo runs from; clears what a crashed one left behind. */
async function reclaimDir(demo: Demo): Promise<void> {
  const { dir } = demo.plan;
  const running = readPid(path.join(dir, 'dev.pid'));
  if (running !== undefined && running !== process.pid && runsWith(running, 'dev')) {
    throw new ConflictError(`a demo already runs from ${dir} (pid ${running})`, {
      hint: `stop it with Ctrl-C in its terminal (or kill -INT ${running}), or run another with --dir <folder> --port <port>`,
    });
  }
  const controller = readPid(path.join(dir, 'controller.pid'));
  if (controller !== undefined && runsWith(controller, demo.plan.controllerData)) {
    process.kill(controller, 'SIGTERM');
    await waitExit(controller, STOP_GRACE_MS);
  }
  const hostsDir = path.join(dir, 'hosts');
  const homes = fs.existsSync(hostsDir) ? fs.readdirSync(hostsDir).map((n) => path.join(hostsDir, n)) : [];
  await Promise.all(homes.filter((h) => fs.existsSync(path.join(h, 'state.json')) || fs.existsSync(path.join(h, 'daemon.pid'))).map((h) => demo.stopHost(h)));
  // A fresh fleet each run: no hosts, apps or tokens from the last one.
  fs.rmSync(hostsDir, { recursive: true, force: true });
  fs.rmSync(demo.plan.controllerData, { recursive: true, force: true });
}

function writeToken(file: string, role: string): void {
  fs.writeFileSync(file, `fleet_dev_${role}_${randomBytes(24).toString('base64url')}\n`, { mode: 0o600 });
  fs.chmodSync(file, 0o600); // an existing file keeps its mode on write
}

function tryText(plan: DemoPlan, address: string, replaced: boolean, appDir: string): string {
  const names = plan.hosts.map((h) => h.name);
  const second = names[1] ?? names[0];
  const ports = plan.hosts.map((h) => `${h.name} :${h.appPort}`).join(', ');
  return (
    `\nFleet demo: controller on ${address}, ${names.length} host${names.length === 1 ? '' : 's'} (${names.join(', ')}), app "${DEMO_APP}" on each (${ports})\n` +
    `  tokens and logs: ${plan.dir}\n` +
    `  context "${DEV_CONTEXT}" ${replaced ? 'updated' : 'added'} (your current context is unchanged)\n\n` +
    `Try, in another terminal:\n` +
    `  fleet hosts --context ${DEV_CONTEXT}\n` +
    `  fleet ls --context ${DEV_CONTEXT}\n` +
    `  fleet logs ${DEMO_APP} -f --context ${DEV_CONTEXT}\n` +
    `  fleet restart ${DEMO_APP} --hosts ${second} --context ${DEV_CONTEXT}\n` +
    `  fleet ls --selector zone=b --context ${DEV_CONTEXT}\n` +
    `  curl 127.0.0.1:${plan.hosts[0].appPort}\n` +
    `  edit ${path.join(appDir, 'server.js')}, then in ${appDir}: fleet deploy ${DEMO_APP} --context ${DEV_CONTEXT}\n` +
    `  fleet releases ${DEMO_APP} --context ${DEV_CONTEXT} ; fleet rollback ${DEMO_APP} --context ${DEV_CONTEXT}\n` +
    `  fleet context use ${DEV_CONTEXT}    (then leave out --context; back with: fleet context use local)\n\n` +
    `Ctrl-C stops the demo: the apps, the agents and the controller.\n`
  );
}

export async function devUp(ctx: CommandContext, flags: DevUpFlags): Promise<number> {
  if (flags.hosts < 1 || flags.hosts > MAX_HOSTS) throw new UsageError(`--hosts ${flags.hosts} is out of range`, `give 1 to ${MAX_HOSTS}, e.g. fleet dev up --hosts 3`);
  if (flags.port > 65535) throw new UsageError(`--port ${flags.port} is not a port`, 'give 1 to 65535, or 0 for any free port');
  if (flags.appPort < 1 || flags.appPort + flags.hosts - 1 > 65535) throw new UsageError(`--app-port ${flags.appPort} is out of range`, 'e.g. --app-port 3001');
  const dir = path.resolve(ctx.cwd, flags.dir ?? path.join(resolveHome(ctx.env), 'dev'));
  const plan = planDemo(dir, flags.hosts, flags.appPort);
  const bin = fleetBin();
  const app = exampleApp(bin);
  // Children never inherit the caller's token or context: each is told exactly where to go.
  const env: NodeJS.ProcessEnv = { ...ctx.env, NO_COLOR: '1' };
  delete env.FLEET_TOKEN;
  delete env.FLEET_CONTEXT;
  const demo = new Demo(plan, bin, env);

  // From here on a signal means "stop what has started", whatever step it lands in.
  let stopSignal: (sig: string) => void = () => undefined;
  const signalled = new Promise<string>((resolve) => (stopSignal = resolve));
  let signals = 0;
  const onSignal = (sig: string) => (): void => {
    if (signals++ > 0) ctx.err('still stopping the demo…\n');
    stopSignal(sig);
  };
  const offInt = ctx.onInterrupt(onSignal('SIGINT'));
  const onTerm = onSignal('SIGTERM');
  const onHup = onSignal('SIGHUP');
  process.on('SIGTERM', onTerm);
  process.on('SIGHUP', onHup);

  let api: FleetApi | undefined;
  let exitCode = EXIT_OK;
  try {
    const startUp = async (): Promise<void> => {
      fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
      await reclaimDir(demo);
      const port = await probePort(flags.port, '127.0.0.1').catch((err: NodeJS.ErrnoException) => {
        throw new ConflictError(`cannot use port ${flags.port} on 127.0.0.1 for the controller: ${err.code === 'EADDRINUSE' ? 'it is in use' : err.message}`, {
          hint: `pick another with --port, e.g. fleet dev up --port ${flags.port + 1} (or --port 0 for any free port)`,
        });
      });
      for (const h of plan.hosts) {
        await probePort(h.appPort).catch((err: NodeJS.ErrnoException) => {
          throw new ConflictError(`port ${h.appPort}, for the app on ${h.name}, is ${err.code === 'EADDRINUSE' ? 'in use' : `unusable (${err.message})`}`, {
            hint: `give the demo apps other ports with --app-port, e.g. --app-port ${flags.appPort + 1000}`,
          });
        });
      }
      const address = `127.0.0.1:${port}`;
      fs.writeFileSync(path.join(dir, 'dev.pid'), String(process.pid), { mode: 0o600 });
      demo.ownsDir = true;
      writeToken(plan.tokenFiles.operator, 'operator');
      writeToken(plan.tokenFiles.agent, 'agent');
      const operatorToken = fs.readFileSync(plan.tokenFiles.operator, 'utf8').trim();

      demo.controller = demo.spawnLogged(
        'the controller',
        ['controller', '--listen', address, '--data', plan.controllerData, '--heartbeat', '1s',
          '--seed-token', `operator:${plan.tokenFiles.operator}`, '--seed-token', `agent:${plan.tokenFiles.agent}`],
        { FLEET_HOME: plan.controllerData },
        plan.controllerLog,
      );
      fs.writeFileSync(path.join(dir, 'controller.pid'), String(demo.controller.pid), { mode: 0o600 });
      api = wrapClient(createControllerClient(address, clientCredentials({ insecure: true })), operatorToken);
      const controllerGone = (): string | undefined =>
        demo.controller && exited(demo.controller) ? `the controller exited; its log (${plan.controllerLog}):\n${tail(plan.controllerLog)}` : undefined;
      await until(() => api!.ping(1000), `the controller on ${address}`, controllerGone);
      ctx.out(`controller listening on ${address}\n`);

      for (const h of plan.hosts) {
        fs.mkdirSync(h.home, { recursive: true, mode: 0o700 });
        const args = ['agent', '--controller', address, '--insecure', '--name', h.name, '--labels', h.labels,
          '--token-file', plan.tokenFiles.agent, '--env', `PORT=${h.appPort}`, '--env', `GREETING=${h.name}`];
        demo.agents.set(h.name, demo.spawnLogged(`the agent of ${h.name}`, args, { FLEET_HOME: h.home }, h.log));
      }
      const agentGone = (): string | undefined => {
        const h = plan.hosts.find((x) => exited(demo.agents.get(x.name)!));
        return controllerGone() ?? (h && `the agent of ${h.name} exited; its log (${h.log}):\n${tail(h.log)}`);
      };
      await until(async () => {
        const { hosts } = await api!.hosts({});
        return plan.hosts.every((h) => hosts.some((x) => x.name === h.name && x.status === HostStatus.HOST_STATUS_READY));
      }, `${plan.hosts.length} hosts to be ready`, agentGone);
      ctx.out(`hosts ready: ${plan.hosts.map((h) => h.name).join(', ')}\n`);

      const { replaced } = addContext(ctx.home, DEV_CONTEXT, { controller: address, tokenFile: plan.tokenFiles.operator, insecure: true }, ctx.cwd);
      // Released like any app: `fleet deploy` from the example's folder, every host at once.
      const started = await demo.run(
        ['deploy', DEMO_APP, '--hosts', plan.hosts.map((h) => h.name).join(','), '--batch', String(plan.hosts.length), '--min-healthy-time', '0'],
        { FLEET_HOME: ctx.home, FLEET_CONTEXT: DEV_CONTEXT },
        { cwd: path.dirname(app) },
      );
      ctx.out(started.stdout);
      if (started.code !== 0) throw new OperationFailedError(`fleet deploy ${DEMO_APP} failed (exit ${started.code}):\n${started.stdout.trimEnd()}\n${started.stderr.trimEnd()}`);
      ctx.out(tryText(plan, address, replaced, path.dirname(app)));
    };

    const up = startUp();
    const first = await Promise.race([up.then(() => 'up'), signalled]);
    if (first === 'up') {
      const why = await Promise.race([signalled.then(() => undefined), demo.crash]);
      if (why) {
        ctx.err(`error: ${why}`);
        exitCode = EXIT_FAILED;
      }
    } else {
      up.catch(() => undefined); // interrupted while starting: what it fails with now is the stop's doing
    }
    ctx.out('\nstopping the demo…\n');
  } catch (err) {
    await demo.stop();
    throw err;
  } finally {
    api?.close();
    offInt();
    process.off('SIGTERM', onTerm);
    process.off('SIGHUP', onHup);
  }
  await demo.stop();
  ctx.out('demo stopped\n');
  return exitCode;
}

export function registerDev(program: Command, ctx: CommandContext): void {
  const dev = program.command('dev').description('try Fleet on this machine: a controller and several hosts, all local');
  dev
    .command('up')
    .description('start a demo fleet (controller, agents web1..webN, the example app on each) until Ctrl-C')
    .option('--hosts <n>', 'how many hosts (agents) to run', parseCount, 3)
    .option('--port <port>', 'the controller port on 127.0.0.1 (0: any free port)', parseCount, 7070)
    .option('--app-port <port>', "the example app's port on web1; web2 gets the next one, and so on", parseCount, 3001)
    .option('--dir <folder>', 'where tokens, logs and the hosts\' FLEET_HOMEs go (default: FLEET_HOME/dev)')
    .action(async (flags: DevUpFlags) => {
      ctx.exitCode = await devUp(ctx, flags);
    });
}
