// The runner's side of the local protocol: JSON lines on a unix socket (0600).
// Requests run concurrently (a status must answer during a long reload); state
// changes are pushed to every connected agent, coalesced per tick.
import * as fs from 'node:fs';
import * as net from 'node:net';
import {
  LineDecoder,
  type RunnerRequest,
  type RunnerResponse,
  RUNNER_PROTOCOL_VERSION,
} from '@fleet/protocol/runner';
import { type AppRunner, RunnerError } from './app-runner';

export interface RunnerServerOptions {
  socketPath: string;
  /** Called after a `shutdown` request has been answered. */
  onShutdown: () => void;
}

export class RunnerServer {
  private readonly server: net.Server;
  private readonly clients = new Set<net.Socket>();
  private pushScheduled = false;

  constructor(
    private readonly runner: AppRunner,
    private readonly opts: RunnerServerOptions,
  ) {
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Binds the socket, refusing to steal it from a live runner of the same app. */
  async listen(): Promise<void> {
    if (await isAlive(this.opts.socketPath)) {
      throw new Error(`another runner already serves ${this.opts.socketPath}`);
    }
    fs.rmSync(this.opts.socketPath, { force: true });
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.opts.socketPath, () => resolve());
    });
    fs.chmodSync(this.opts.socketPath, 0o600);
  }

  close(): void {
    this.server.close();
    for (const c of this.clients) c.destroy();
  }

  /** Schedules a state push to every connected agent. */
  notify(): void {
    if (this.pushScheduled || this.clients.size === 0) return;
    this.pushScheduled = true;
    setImmediate(() => {
      this.pushScheduled = false;
      const line = encode({ id: 0, error: '', errorCode: '', message: '', event: true, state: this.runner.state() });
      for (const c of this.clients) c.write(line);
    });
  }

  private accept(socket: net.Socket): void {
    this.clients.add(socket);
    socket.on('close', () => this.clients.delete(socket));
    socket.on('error', () => socket.destroy());
    const decoder = new LineDecoder();
    socket.on('data', (chunk) => {
      for (const line of decoder.push(chunk.toString('utf8'))) {
        if (line.trim() === '') continue;
        void this.handle(socket, line);
      }
    });
  }

  private async handle(socket: net.Socket, line: string): Promise<void> {
    let req: RunnerRequest;
    try {
      // Plain JSON (see runner-protocol.ts): the agent sends complete messages.
      req = JSON.parse(line) as RunnerRequest;
      if (typeof req !== 'object' || req === null) throw new Error('not an object');
    } catch (err) {
      socket.write(encode(reply(0, { error: `bad request: ${(err as Error).message}`, errorCode: 'BAD_INPUT' })));
      return;
    }
    let response: RunnerResponse;
    try {
      const message = await this.dispatch(req);
      response = reply(req.id, { message: message ?? '', state: this.runner.state() });
    } catch (err) {
      const code = err instanceof RunnerError ? err.code : 'FAILED';
      response = reply(req.id, { error: (err as Error).message, errorCode: code, state: this.runner.state() });
    }
    if (!socket.destroyed) socket.write(encode(response));
    if (req.shutdown) setImmediate(() => this.opts.onShutdown());
  }

  private async dispatch(req: RunnerRequest): Promise<string | void> {
    const r = this.runner;
    if (req.hello) {
      // Versioning: a newer agent must not drive an older runner it would misread.
      if (req.hello.protocolVersion > RUNNER_PROTOCOL_VERSION) {
        return `runner speaks protocol ${RUNNER_PROTOCOL_VERSION}, agent ${req.hello.protocolVersion}`;
      }
      return;
    }
    if (req.status) return;
    if (req.start) return r.start();
    if (req.stop) return r.stop(req.stop.instances.length ? req.stop.instances : undefined);
    if (req.restart) return r.restart();
    if (req.reload) return r.reload();
    if (req.scale) return r.scale(req.scale.instances);
    if (req.update?.spec) return r.update(req.update.spec);
    if (req.reopenLogs) return r.reopenLogs();
    if (req.shutdown) return r.shutdown();
    throw new RunnerError('BAD_INPUT', 'unknown request (is the agent newer than this runner?)');
  }
}

function reply(id: number, fields: Partial<RunnerResponse>): RunnerResponse {
  return { id, error: '', errorCode: '', message: '', event: false, ...fields };
}

function encode(msg: RunnerResponse): string {
  return JSON.stringify(msg) + '\n';
}

function isAlive(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}
