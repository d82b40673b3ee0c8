// A real nats-server for tests, on loopback and a free port, optionally with
// JetStream in a throwaway store directory. Stopped and started again on the
// same port and store (a NATS restart mid-stream). Where the binary is absent
// (the Debian package `nats-server`; `.ci/run` installs it), NATS_SKIP says why
// and the tests skip — loudly, never as a pass that tested nothing.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { freePort, waitFor } from './harness';

function findBinary(): string | undefined {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  const r = spawnSync('sh', ['-c', 'command -v nats-server || ls /usr/sbin/nats-server /usr/local/bin/nats-server 2>/dev/null | head -1'], { encoding: 'utf8' });
  return r.stdout.trim().split('\n')[0] || undefined;
}

export const NATS_SERVER_BIN = findBinary();

/** Why NATS tests cannot run here, or false. */
export const NATS_SKIP: string | false = NATS_SERVER_BIN
  ? false
  : 'nats-server not found: NATS tests SKIPPED (apt-get install -y nats-server, or NATS_SERVER_BIN=<path>)';

if (NATS_SKIP) process.stderr.write(`\n${'!'.repeat(78)}\n!! ${NATS_SKIP}\n${'!'.repeat(78)}\n\n`);

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

export interface NatsServerOptions {
  jetstream?: boolean;
}

export class NatsServer {
  port = 0;
  log = '';
  private child?: ChildProcess;
  private readonly storeDir: string;

  constructor(private readonly opts: NatsServerOptions = {}) {
    this.storeDir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-nats-'));
  }

  get url(): string {
    return `nats://127.0.0.1:${this.port}`;
  }

  static async start(opts: NatsServerOptions = {}): Promise<NatsServer> {
    const s = new NatsServer(opts);
    await s.start();
    return s;
  }

  /** Starts it (again, on the same port and store). */
  async start(): Promise<void> {
    if (!NATS_SERVER_BIN) throw new Error(NATS_SKIP || 'no nats-server');
    if (!this.port) this.port = await freePort();
    const args = ['-a', '127.0.0.1', '-p', String(this.port)];
    if (this.opts.jetstream) args.push('-js', '-sd', this.storeDir);
    const child = spawn(NATS_SERVER_BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    child.stdout!.on('data', (d) => (this.log += d));
    child.stderr!.on('data', (d) => (this.log += d));
    await waitFor(async () => child.exitCode !== null || (await canConnect(this.port)), { message: `nats-server on port ${this.port}`, timeoutMs: 10_000 });
    if (child.exitCode !== null) throw new Error(`nats-server exited ${child.exitCode}:\n${this.log}`);
  }

  /** Stops it (SIGTERM: its clients see the connection close; SIGKILL: as a crash). */
  stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
    const child = this.child;
    this.child = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => {
      const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      child.kill(signal);
    });
  }

  async cleanup(): Promise<void> {
    await this.stop('SIGKILL');
    fs.rmSync(this.storeDir, { recursive: true, force: true });
  }
}
