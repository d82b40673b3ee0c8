// What a command gets: injected streams and env (tests pass their own), the
// colour decision, and the daemon connection, opened on demand and closed by main.
import { FLEET_VERSION, resolveHome } from '@fleet/protocol';
import type { FleetApi } from './client';
import { connectIfRunning, ensureDaemon, type DaemonConnection, type LauncherDeps } from './daemon-launcher';
import { makeColors, shouldColor, type Colors } from './format/color';

export interface Output {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface CliIo {
  stdout: Output;
  stderr: Output;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Registers a SIGINT handler (logs --follow); returns its removal. */
  onInterrupt(handler: () => void): () => void;
  spawnDaemon?: LauncherDeps['spawnDaemon'];
}

export class CommandContext {
  readonly stdout: Output;
  readonly stderr: Output;
  readonly env: NodeJS.ProcessEnv;
  readonly cwd: string;
  readonly home: string;
  /** For stdout. */
  readonly colors: Colors;
  /** For stderr, which may be a terminal while stdout is piped. */
  readonly errColors: Colors;
  /** Set by the command's action; main returns it. */
  exitCode = 0;
  private readonly io: CliIo;
  private readonly open: FleetApi[] = [];

  constructor(io: CliIo) {
    this.io = io;
    this.stdout = io.stdout;
    this.stderr = io.stderr;
    this.env = io.env;
    this.cwd = io.cwd;
    this.home = resolveHome(io.env);
    this.colors = makeColors(shouldColor(io.stdout, io.env));
    this.errColors = makeColors(shouldColor(io.stderr, io.env));
  }

  out(text: string): void {
    this.stdout.write(text);
  }

  err(text: string): void {
    this.stderr.write(text);
  }

  json(value: unknown): void {
    this.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  warn(text: string): void {
    this.stderr.write(`${this.errColors.yellow('warning:')} ${text}\n`);
  }

  onInterrupt(handler: () => void): () => void {
    return this.io.onInterrupt(handler);
  }

  /** The daemon, started first when none runs. */
  async connect(): Promise<FleetApi> {
    const conn = await ensureDaemon(this.home, { env: this.env, spawnDaemon: this.io.spawnDaemon });
    return this.adopt(conn).api;
  }

  /** The daemon when one runs; never starts one (kill, ping). */
  async connectIfRunning(): Promise<DaemonConnection | undefined> {
    const conn = await connectIfRunning(this.home);
    return conn && this.adopt(conn);
  }

  close(): void {
    for (const api of this.open.splice(0)) api.close();
  }

  private adopt(conn: DaemonConnection): DaemonConnection {
    this.open.push(conn.api);
    if (conn.pong.version && conn.pong.version !== FLEET_VERSION) {
      this.warn(`the daemon runs fleet ${conn.pong.version}, this command is fleet ${FLEET_VERSION}`);
    }
    return conn;
  }
}
