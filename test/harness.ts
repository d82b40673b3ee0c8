// Test harness: real daemons in throwaway FLEET_HOMEs, the real CLI, real apps
// on loopback. Everything waits on conditions, never on fixed sleeps, and
// cleans up after itself (apps included) even when a test fails.
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import * as fs from 'node:fs';
import * as http from 'node:http';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

export const ROOT = path.resolve(__dirname, '..', '..');
export const FLEET_BIN = path.join(ROOT, 'packages/cli/bin/fleet.js');
export const DAEMON_MAIN = path.join(ROOT, 'packages/agent/dist/src/daemon-main.js');
export const FIXTURE_APP = path.join(ROOT, 'test/fixtures/app.js');

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  message?: string;
}

/** Polls `fn` until it returns a truthy value; fails with `message` after the timeout. */
export async function waitFor<T>(fn: () => T | Promise<T>, opts: WaitOptions = {}): Promise<NonNullable<T>> {
  const deadline = Date.now() + (opts.timeoutMs ?? 15_000);
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${opts.message ?? 'condition'}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/**
 * A port nothing listens on, with the next one free too (increment_var tests use
 * base + 1). Taken below the kernel's ephemeral range (32768+): there, any
 * outgoing connection of a concurrent test (a CLI dialling a controller) may
 * take it between this check and the app's listen.
 */
export async function freePort(): Promise<number> {
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (handedOut.has(port) || handedOut.has(port + 1)) continue;
    if ((await canListen(port)) && (await canListen(port + 1))) {
      handedOut.add(port);
      handedOut.add(port + 1);
      return port;
    }
  }
  throw new Error('no free port pair found in 20000-32000');
}

const handedOut = new Set<number>();

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    // No host: the way apps listen (all interfaces), so a port bound anywhere counts as taken.
    srv.listen(port, () => srv.close(() => resolve(true)));
  });
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  json<T = unknown>(): T;
}

function toResult(r: SpawnSyncReturns<string>): CliResult {
  return {
    code: r.status ?? -1,
    stdout: r.stdout,
    stderr: r.stderr,
    json<T>() {
      try {
        return JSON.parse(r.stdout) as T;
      } catch {
        throw new Error(`not JSON (exit ${r.status}):\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
      }
    },
  };
}

export interface LsRow {
  app: string;
  appId: number;
  instance: number;
  pid: number;
  status: string;
  cpuPercent: number;
  memoryBytes: number;
  restarts: number;
  uptimeMs: number;
  execMode: string;
  createdMs: number;
}

/** A FLEET_HOME of its own; the daemon is started by the CLI on first use, like a user's. */
export class FleetHome {
  readonly home: string;

  constructor(prefix = 'fleet-test-') {
    this.home = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, FLEET_HOME: this.home, NO_COLOR: '1' };
  }

  /** Runs the real `fleet` CLI. */
  fleet(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number } = {}): CliResult {
    const r = spawnSync(process.execPath, [FLEET_BIN, ...args], {
      cwd: opts.cwd ?? ROOT,
      env: { ...this.env, ...opts.env },
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 60_000,
    });
    return toResult(r);
  }

  /** Async variant, for commands that run while the test does other things. */
  fleetAsync(args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
    return new Promise((resolve) => {
      const child = spawn(process.execPath, [FLEET_BIN, ...args], {
        cwd: opts.cwd ?? ROOT,
        env: { ...this.env, ...opts.env },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('close', (code) => resolve(toResult({ status: code, stdout, stderr } as SpawnSyncReturns<string>)));
    });
  }

  ls(): LsRow[] {
    const r = this.fleet(['ls', '--json']);
    if (r.code !== 0) throw new Error(`fleet ls failed (${r.code}): ${r.stderr}`);
    return r.json<LsRow[]>();
  }

  rows(app: string): LsRow[] {
    return this.ls().filter((row) => row.app === app);
  }

  daemonPid(): number | undefined {
    try {
      return Number(fs.readFileSync(path.join(this.home, 'daemon.pid'), 'utf8'));
    } catch {
      return undefined;
    }
  }

  /** Starts the daemon directly (as `fleet agent` would), detached. */
  startDaemon(): void {
    const child = spawn(process.execPath, [DAEMON_MAIN], { env: this.env, detached: true, stdio: 'ignore' });
    child.unref();
  }

  async waitDaemon(): Promise<number> {
    return waitFor(() => {
      const r = this.fleet(['ping', '--json']);
      return r.code === 0 ? r.json<{ pid: number }>().pid : 0;
    }, { message: 'daemon to answer ping' });
  }

  /** Stops every app and the daemon, kills anything left, removes the home. */
  async cleanup(): Promise<void> {
    this.fleet(['kill'], { timeoutMs: 30_000, env: { FLEET_CONTEXT: 'local' } });
    // Belt and braces: nothing started under this home may outlive the test.
    const leftovers = spawnSync('pgrep', ['-f', this.home], { encoding: 'utf8' }).stdout.trim();
    for (const pid of leftovers.split('\n').filter(Boolean)) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // gone
      }
    }
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function httpGet(port: number, agent?: http.Agent): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: agent ?? false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.setTimeout(5000, () => req.destroy(new Error('timeout')));
  });
}

export interface LoadResult {
  ok: number;
  failed: number;
  errors: Record<string, number>;
  bodies: Set<string>;
}

/**
 * Continuous HTTP load over keep-alive connections (the hard case for reload:
 * an idle keep-alive socket closed under a client that just sent on it).
 */
export class KeepAliveLoad {
  private readonly agent: http.Agent;
  private stopped = false;
  private readonly result: LoadResult = { ok: 0, failed: 0, errors: {}, bodies: new Set() };
  private running = 0;
  private lastBody = new Map<number, string>();

  constructor(
    private readonly port: number,
    private readonly concurrency = 8,
  ) {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  }

  start(): this {
    for (let i = 0; i < this.concurrency; i++) this.loop(i);
    return this;
  }

  get ok(): number {
    return this.result.ok;
  }

  /** Distinct bodies seen in the last response of each client. */
  latestBodies(): Set<string> {
    return new Set(this.lastBody.values());
  }

  private loop(i: number): void {
    if (this.stopped) return;
    this.running++;
    const req = http.get({ host: '127.0.0.1', port: this.port, path: '/', agent: this.agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => {
        this.running--;
        if (res.statusCode === 200) {
          this.result.ok++;
          this.result.bodies.add(body);
          this.lastBody.set(i, body);
        } else {
          this.result.failed++;
          this.result.errors[`HTTP ${res.statusCode}`] = (this.result.errors[`HTTP ${res.statusCode}`] ?? 0) + 1;
        }
        setImmediate(() => this.loop(i));
      });
    });
    req.on('error', (err: NodeJS.ErrnoException) => {
      this.running--;
      this.result.failed++;
      const key = err.code ?? err.message;
      this.result.errors[key] = (this.result.errors[key] ?? 0) + 1;
      setTimeout(() => this.loop(i), 5);
    });
  }

  async stop(): Promise<LoadResult> {
    this.stopped = true;
    await waitFor(() => this.running === 0, { timeoutMs: 10_000, message: 'load clients to finish' });
    this.agent.destroy();
    return this.result;
  }
}
