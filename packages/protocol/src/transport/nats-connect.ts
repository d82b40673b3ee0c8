// A NATS connection that never takes its process down: it is dialled in the
// background (a controller or agent starts while NATS is away), redialled
// forever, and its ups and downs are told once each, not once per attempt.
// The only module that loads the `nats` client for both roles: reached as
// @fleet/protocol/nats, so a process without --nats never loads it.
import { type ConnectionOptions, connect, credsAuthenticator, Events, type Msg, type NatsConnection, type NatsError } from 'nats';
import type { NatsTarget } from './nats-target';

export type { NatsTarget } from './nats-target';

export interface NatsSessionHandlers {
  /**
   * A new connection: set up its subscriptions (the client restores them itself
   * after a reconnect). Called again only if the client gave up and a fresh one was dialled.
   */
  ready(nc: NatsConnection): void | Promise<void>;
  /** Connected again after a disconnect. */
  up?(): void;
  /** The connection dropped; the client is redialling. */
  down?(): void;
}

export interface NatsSessionOptions {
  target: NatsTarget;
  /** Shown in the server's monitoring (connz). */
  name: string;
  log: (msg: string) => void;
  /** Messages this connection publishes never come back to its own subscriptions. */
  noEcho?: boolean;
  /** Between dial attempts. @default 1000 */
  reconnectWaitMs?: number;
}

export function natsConnectionOptions(opts: NatsSessionOptions): ConnectionOptions {
  const t = opts.target;
  return {
    servers: t.servers,
    name: opts.name,
    user: t.user,
    pass: t.pass,
    token: t.token,
    authenticator: t.creds ? credsAuthenticator(t.creds) : undefined,
    tls: t.tls ? { caFile: t.tls.caFile, certFile: t.tls.certFile, keyFile: t.tls.keyFile } : undefined,
    noEcho: opts.noEcho,
    reconnect: true,
    maxReconnectAttempts: -1,
    reconnectTimeWait: opts.reconnectWaitMs ?? 1000,
    reconnectJitter: 200,
    // A server gone without closing the socket is noticed in ~20 s, not the default 4 minutes.
    pingInterval: 10_000,
    maxPingOut: 2,
    timeout: 5_000,
  };
}

/**
 * A subscription callback that never throws into the client's reader: a throw
 * there would end the connection, or the process. Told once per kind of failure.
 */
export function guarded(log: (msg: string) => void, what: string, fn: (msg: Msg) => void): (err: NatsError | null, msg: Msg) => void {
  let told = '';
  return (err, msg) => {
    if (err) return;
    try {
      fn(msg);
    } catch (e) {
      const text = (e as Error).message;
      if (text !== told) log(`NATS ${what}: ${text}`);
      told = text;
    }
  };
}

export class NatsSession {
  private nc?: NatsConnection;
  private stopped = false;
  private retryTimer?: NodeJS.Timeout;
  private attempt = 0;
  private lastProblem = '';
  private isUp = false;

  constructor(private readonly opts: NatsSessionOptions) {}

  get connection(): NatsConnection | undefined {
    return this.nc;
  }

  /** Connected to a server now (publishes are not sitting in the client's own unbounded buffer). */
  get connected(): boolean {
    return this.isUp && !!this.nc && !this.nc.isClosed();
  }

  start(handlers: NatsSessionHandlers): void {
    void this.dial(handlers);
  }

  private async dial(handlers: NatsSessionHandlers): Promise<void> {
    if (this.stopped) return;
    const { target, log } = this.opts;
    let nc: NatsConnection;
    try {
      nc = await connect(natsConnectionOptions(this.opts));
    } catch (err) {
      // Only the first dial fails here (later drops are the client's to redial): retried, told once.
      const text = (err as Error).message;
      const delay = Math.min(5_000, 500 * 2 ** Math.min(this.attempt++, 4));
      if (text !== this.lastProblem) log(`NATS ${target.display}: ${text}; retrying (next in ${delay} ms)`);
      this.lastProblem = text;
      this.retryTimer = setTimeout(() => void this.dial(handlers), delay);
      this.retryTimer.unref();
      return;
    }
    if (this.stopped) {
      void nc.close();
      return;
    }
    this.nc = nc;
    this.isUp = true;
    this.attempt = 0;
    log(`connected to NATS at ${nc.getServer()} (subjects fleet.${target.cluster}.>)`);
    this.lastProblem = '';
    void this.watch(nc, handlers);
    void nc.closed().then((err) => {
      this.isUp = false;
      if (this.stopped) return;
      // Closed for good (credentials refused twice, say): dial afresh rather than stay silent.
      log(`NATS connection closed${err ? `: ${err.message}` : ''}; dialling again`);
      this.nc = undefined;
      handlers.down?.();
      this.retryTimer = setTimeout(() => void this.dial(handlers), 1000);
      this.retryTimer.unref();
    });
    try {
      await handlers.ready(nc);
    } catch (err) {
      log(`NATS setup failed: ${(err as Error).message}`);
    }
  }

  private async watch(nc: NatsConnection, handlers: NatsSessionHandlers): Promise<void> {
    try {
      await this.follow(nc, handlers);
    } catch (err) {
      this.opts.log(`NATS status: ${(err as Error).message}`);
    }
  }

  private async follow(nc: NatsConnection, handlers: NatsSessionHandlers): Promise<void> {
    for await (const s of nc.status()) {
      if (this.stopped) return;
      if (s.type === Events.Disconnect) {
        if (this.isUp) this.opts.log(`NATS ${String(s.data)} lost; redialling`);
        this.isUp = false;
        handlers.down?.();
      } else if (s.type === Events.Reconnect) {
        this.isUp = true;
        this.opts.log(`reconnected to NATS at ${String(s.data)}`);
        handlers.up?.();
      } else if (s.type === Events.Error) {
        const text = String(s.data);
        if (text !== this.lastProblem) this.opts.log(`NATS: ${text}`);
        this.lastProblem = text;
      }
    }
  }

  async close(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    const nc = this.nc;
    this.nc = undefined;
    const wasUp = this.isUp;
    this.isUp = false;
    if (!nc || nc.isClosed()) return;
    // Connected: what was published goes out first (bounded). Away: nothing to wait for.
    if (wasUp) await Promise.race([nc.drain().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    if (!nc.isClosed()) await nc.close().catch(() => undefined);
  }
}
