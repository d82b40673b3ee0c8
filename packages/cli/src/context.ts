// What a command gets: injected streams and env (tests pass their own), the
// colour decision, and the daemon connection, opened on demand and closed by main.
import { clientCredentials, FLEET_VERSION, fleetPaths, resolveHome, UnavailableError, type FleetError } from '@fleet/protocol';
import { createControllerClient, createRawClient, wrapClient, type FleetApi } from './client';
import { LOCAL_CONTEXT, readToken, resolveContext, type ContextEntry } from './contexts/context-store';
import { connectIfRunning, ensureDaemon, FIRST_PING_DEADLINE_MS, startDaemon, type DaemonConnection, type LauncherDeps } from './daemon-launcher';
import { makeColors, shouldColor, type Colors } from './format/color';

/** A controller that does not answer a ping in this time is reported unreachable. */
const CONTROLLER_PING_DEADLINE_MS = 5_000;

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
  /** `--context NAME` of the command being run (over FLEET_CONTEXT and the saved choice). */
  contextName?: string;
  /** Connected to a controller (not the local daemon): output names hosts. */
  remote = false;
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

  /** The controller of the context in use, or else the local daemon, started first when none runs. */
  async connect(): Promise<FleetApi> {
    const target = this.controllerTarget();
    if (target) return (await this.openController(target.name, target.entry)).api;
    const conn = await ensureDaemon(this.home, { env: this.env, spawnDaemon: this.io.spawnDaemon });
    return this.adopt(conn).api;
  }

  /**
   * Runs a call that changes nothing (ls) without waiting for the ping first:
   * ping and call go out together on one connection, so the command pays one
   * round trip instead of two (over a network, one RTT less). The ping's answer
   * is still what decides: a controller that cannot be reached gets the ping's
   * explained error; when no local daemon answers, the daemon is started as
   * connect() does and the call made again — being read-only, the first
   * attempt did nothing that a second could repeat.
   */
  async query<T>(call: (api: FleetApi) => Promise<T>): Promise<T> {
    const target = this.controllerTarget();
    if (target) return (await this.openController(target.name, target.entry, call)).result!;
    const api = wrapClient(createRawClient(fleetPaths(this.home).socket));
    const pong = api.ping(FIRST_PING_DEADLINE_MS);
    const result = call(api);
    result.catch(() => undefined); // awaited below, once the ping has answered
    try {
      this.adopt({ api, pong: await pong, spawned: false });
    } catch (err) {
      api.close();
      if (!(err instanceof UnavailableError)) throw err;
      // No daemon answered: start one (no second ping first) and ask again.
      return call(this.adopt(await startDaemon(this.home, { env: this.env, spawnDaemon: this.io.spawnDaemon })).api);
    }
    return result;
  }

  /** The context's controller, or undefined for local mode. */
  controllerTarget(): { name: string; entry: ContextEntry } | undefined {
    const env = this.contextName ? { ...this.env, FLEET_CONTEXT: this.contextName } : this.env;
    const r = resolveContext(this.home, env);
    return r.entry && r.name !== LOCAL_CONTEXT ? { name: r.name, entry: r.entry } : undefined;
  }

  /** Connects to a controller and pings it; `beside` is called at once, on the same connection, and its promise returned. */
  private async openController<T>(name: string, entry: ContextEntry, beside?: (api: FleetApi) => Promise<T>): Promise<{ api: FleetApi; result?: Promise<T> }> {
    const token = readToken(entry, this.env);
    const creds = clientCredentials({ ca: entry.tlsCa, insecure: entry.insecure, serverName: entry.serverName });
    const api = wrapClient(createControllerClient(entry.controller, creds), token);
    this.open.push(api);
    const pinged = api.ping(CONTROLLER_PING_DEADLINE_MS);
    const result = beside?.(api);
    result?.catch(() => undefined); // the caller awaits it once the ping has answered
    try {
      const pong = await pinged;
      this.remote = pong.mode !== 'local';
    } catch (err) {
      const e = err as FleetError;
      if (e instanceof UnavailableError) {
        throw new UnavailableError(`cannot reach controller ${name} at ${entry.controller}: ${e.message}`, {
          hint: entry.insecure
            ? 'check that the controller runs and listens there; if it serves TLS, drop --insecure and give --tls-ca (fleet context add)'
            : 'check that the controller runs and listens there, and that --tls-ca matches its certificate (or --insecure if it serves plaintext)',
          cause: err,
        });
      }
      throw err;
    }
    return { api, result };
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
