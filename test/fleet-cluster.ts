// A fleet on loopback for tests: a real `fleet controller` and real `fleet
// agent --controller` processes, each agent with its own FLEET_HOME, and a
// "laptop" FLEET_HOME whose CLI context points at the controller.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { type CliResult, FLEET_BIN, FleetHome, freePort, ROOT, waitFor } from './harness';

export const TOKENS = {
  operator: 'fleet_test_operator_token_0123456789',
  agent: 'fleet_test_agent_token_0123456789abcd',
  viewer: 'fleet_test_viewer_token_0123456789abc',
};

export interface AgentSpec {
  name: string;
  /** Its FLEET_HOME folder, when not named after the host (an impostor with a taken name). */
  homeName?: string;
  /** More `fleet agent` flags. */
  args?: string[];
  labels?: string;
  env?: Record<string, string>;
}

export interface HostRow {
  name: string;
  status: string;
  labels: Record<string, string>;
  apps: number;
  instances: number;
  env: Record<string, string>;
  problem: string;
}

export class FleetCluster {
  readonly dir: string;
  readonly laptop: FleetHome;
  port = 0;
  controller?: ChildProcess;
  controllerLog = '';
  readonly agents = new Map<string, ChildProcess>();
  readonly agentLogs = new Map<string, string>();
  private readonly specs = new Map<string, AgentSpec>();

  constructor(readonly heartbeatMs = 300) {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-cluster-'));
    this.laptop = new FleetHome('fleet-laptop-');
    for (const [role, token] of Object.entries(TOKENS)) fs.writeFileSync(this.tokenFile(role), `${token}\n`, { mode: 0o600 });
  }

  tokenFile(role: string): string {
    return path.join(this.dir, `${role}.token`);
  }

  hostHome(name: string): string {
    return path.join(this.dir, 'hosts', name);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  async startController(extra: string[] = []): Promise<void> {
    if (!this.port) this.port = await freePort();
    this.controllerLog = '';
    const child = spawn(
      process.execPath,
      [
        FLEET_BIN, 'controller',
        '--listen', this.address,
        '--data', path.join(this.dir, 'data'),
        '--heartbeat', `${this.heartbeatMs}ms`,
        '--seed-token', `operator:${this.tokenFile('operator')}`,
        '--seed-token', `agent:${this.tokenFile('agent')}`,
        '--seed-token', `viewer:${this.tokenFile('viewer')}`,
        ...extra,
      ],
      { cwd: ROOT, env: { ...process.env, FLEET_HOME: path.join(this.dir, 'ctl-home'), NO_COLOR: '1' } },
    );
    child.stdout!.on('data', (d) => (this.controllerLog += d));
    child.stderr!.on('data', (d) => (this.controllerLog += d));
    this.controller = child;
    await waitFor(() => this.controllerLog.includes('listening on') || child.exitCode !== null, { message: 'controller to listen' });
    if (child.exitCode !== null) throw new Error(`controller exited: ${this.controllerLog}`);
    if (!fs.existsSync(path.join(this.laptop.home, 'contexts.json'))) {
      const r = this.laptop.fleet(['context', 'add', 'test', '--controller', this.address, '--insecure', '--token-file', this.tokenFile('operator'), '--use']);
      if (r.code !== 0) throw new Error(`context add failed: ${r.stderr}`);
    }
  }

  killController(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.controller;
    this.controller = undefined;
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** Starts `fleet agent --controller …` for a host; `wait` until the controller shows it ready. */
  async startAgent(spec: AgentSpec, opts: { wait?: boolean; token?: string } = {}): Promise<ChildProcess> {
    const key = spec.homeName ?? spec.name;
    this.specs.set(key, spec);
    const args = [FLEET_BIN, 'agent', '--controller', this.address, '--insecure', '--name', spec.name, '--token-file', opts.token ?? this.tokenFile('agent')];
    if (spec.labels) args.push('--labels', spec.labels);
    for (const [k, v] of Object.entries(spec.env ?? {})) args.push('--env', `${k}=${v}`);
    args.push(...(spec.args ?? []));
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: { ...process.env, FLEET_HOME: this.hostHome(key), NO_COLOR: '1', FLEET_CONTEXT: '' },
    });
    this.agentLogs.set(key, '');
    const append = (d: Buffer): void => {
      this.agentLogs.set(key, (this.agentLogs.get(key) ?? '') + d.toString());
    };
    child.stdout!.on('data', append);
    child.stderr!.on('data', append);
    this.agents.set(key, child);
    if (opts.wait !== false) {
      await waitFor(() => this.hosts().find((h) => h.name === spec.name && h.status === 'ready'), {
        message: `${spec.name} to be ready`,
      });
    }
    return child;
  }

  async restartAgent(name: string): Promise<void> {
    await this.startAgent(this.specs.get(name)!);
  }

  killAgent(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.agents.get(name);
    this.agents.delete(name);
    if (!child || child.exitCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      child.once('exit', () => resolve());
      child.kill(signal);
    });
  }

  /** The CLI on the "laptop", talking to the controller. */
  fleet(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
    return this.laptop.fleet(args, opts);
  }

  fleetAsync(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    return this.laptop.fleetAsync(args, opts);
  }

  /** A long-running CLI command (logs -f): stop() interrupts it like Ctrl-C and returns what it printed. */
  spawnFleet(args: string[], env: NodeJS.ProcessEnv = {}): { stop(): Promise<CliResult>; output(): string; done: Promise<CliResult> } {
    const child = spawn(process.execPath, [FLEET_BIN, ...args], { cwd: ROOT, env: { ...this.laptop.env, ...env } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const done = new Promise<CliResult>((resolve) =>
      child.on('close', (code) =>
        resolve({ code: code ?? -1, stdout, stderr, json: <T>() => JSON.parse(stdout) as T }),
      ),
    );
    return {
      done,
      output: () => stdout,
      stop: () => {
        child.kill('SIGINT');
        return done;
      },
    };
  }

  /** The CLI on a host, talking to that host's own daemon. */
  onHost(name: string, args: string[]): CliResult {
    return this.laptop.fleet(args, { env: { FLEET_HOME: this.hostHome(name), FLEET_CONTEXT: '' } });
  }

  hosts(): HostRow[] {
    const r = this.fleet(['hosts', '--json'], { timeoutMs: 15_000 });
    if (r.code !== 0) return [];
    return r.json<HostRow[]>();
  }

  async cleanup(): Promise<void> {
    await this.killController('SIGKILL');
    // Each host's daemon stops its apps; agents that are down are started locally just to be told so.
    for (const name of this.specs.keys()) {
      spawnSync(process.execPath, [FLEET_BIN, 'kill'], {
        env: { ...process.env, FLEET_HOME: this.hostHome(name), FLEET_CONTEXT: '' },
        timeout: 30_000,
      });
    }
    for (const name of [...this.agents.keys()]) await this.killAgent(name);
    const leftovers = spawnSync('pgrep', ['-f', this.dir], { encoding: 'utf8' }).stdout.trim();
    for (const pid of leftovers.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
    await this.laptop.cleanup();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
