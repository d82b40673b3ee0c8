// `fleet controller`: the registry of hosts, the fleet-wide Fleet service and
// the agents' link, on one TCP port. Plaintext is allowed on loopback only,
// unless --insecure says otherwise — and then every start says so.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Server } from '@grpc/grpc-js';
import {
  AgentLinkService,
  BadInputError,
  FLEET_VERSION,
  FleetService,
  isLoopbackAddress,
  type NatsFlags,
  natsTarget,
  parseListen,
  serverCredentials,
} from '@fleet/protocol';
import { createAgentLinkServer } from './agent-link-server';
import { authorize } from './auth/bearer';
import { type Role } from './auth/roles';
import { TokenStore } from './auth/token-store';
import { ControllerStore } from './controller-store';
import { createControllerService } from './fleet-service';
import { checkMetricsListen, tokenStoreGuard } from './http/metrics-access';
import { type RunningMetricsServer, startMetricsServer } from './http/metrics-server';
import { registrySnapshot } from './http/registry-snapshot';
import { HostRegistry } from './host-registry';
import { LogHub } from './log-hub';
import { OpenStreams } from './open-streams';
import { ArtifactStore } from './deploy/artifact-store';
import { DeployDriver } from './deploy/deploy-driver';
import { createDeployService } from './deploy/deploy-service';
import { ReleaseBook } from './deploy/release-book';

/** The largest message the controller takes (a `fleet start` of many apps, a long log tail). */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface ControllerOptions {
  /** host:port; port 0 picks a free one. */
  listen: string;
  dataDir: string;
  tlsCert?: string;
  tlsKey?: string;
  tlsCa?: string;
  insecure?: boolean;
  heartbeatMs?: number;
  downAfterMs?: number;
  /** Lines kept per host and app for `fleet logs`. */
  logWindowLines?: number;
  log?: (msg: string) => void;
  /** Where the first-start operator token is printed. */
  announce?: (text: string) => void;
  /** Largest release artifact taken, in bytes. */
  maxArtifactBytes?: number;
  /** Tokens given up front (tests, demos): role and secret. */
  seedTokens?: { role: Role; token: string; name: string }[];
  /** NATS as the data plane for logs, events and metrics (`--nats` and its companions). @default off: gRPC alone */
  nats?: NatsFlags;
  /** Keep fleet.<cluster>.logs.> in a JetStream stream this long (`--nats-logs-retention`). @default off */
  natsLogsRetentionMs?: number;
  /**
   * host:port for GET /metrics, /healthz, /api/v1/* (http/metrics-access.ts has the rule).
   * @default off
   */
  metricsListen?: string;
}

export interface RunningController {
  port: number;
  address: string;
  /** http(s)://host:port of --metrics-listen, when given. */
  metricsUrl?: string;
  stop(): Promise<void>;
}

export async function startController(opts: ControllerOptions): Promise<RunningController> {
  const log = opts.log ?? ((msg: string) => process.stderr.write(`${new Date().toISOString()} [controller ${process.pid}] ${msg}\n`));
  const announce = opts.announce ?? ((text: string) => process.stdout.write(text));
  const { host, port } = parseListen(opts.listen);
  const tls = opts.tlsCert !== undefined || opts.tlsKey !== undefined;
  if (!tls && opts.tlsCa !== undefined) {
    throw new BadInputError('--tls-ca was given without --tls-cert and --tls-key', {
      hint: 'the controller serves TLS with its own certificate: pass --tls-cert and --tls-key (agents and CLIs take --tls-ca)',
    });
  }
  if (!tls && !opts.insecure && !isLoopbackAddress(host)) {
    throw new BadInputError(`refusing to listen on ${opts.listen} without TLS: tokens would cross the network in clear`, {
      hint: 'pass --tls-cert and --tls-key (and give agents and CLIs --tls-ca), or --insecure on a network you trust',
    });
  }
  const metricsAt = opts.metricsListen ? checkMetricsListen(opts.metricsListen, { who: 'controller', tls, insecure: opts.insecure }) : undefined;
  const credentials = serverCredentials(tls ? { cert: opts.tlsCert, key: opts.tlsKey, ca: opts.tlsCa } : { insecure: true });
  if (opts.natsLogsRetentionMs && !opts.nats) {
    throw new BadInputError('--nats-logs-retention keeps logs in NATS JetStream: it needs --nats', { hint: 'add --nats nats://<server>:4222 (a server started with -js)' });
  }
  const natsAt = opts.nats ? natsTarget(opts.nats) : undefined;

  fs.mkdirSync(opts.dataDir, { recursive: true, mode: 0o700 });
  const tokens = TokenStore.open(path.join(opts.dataDir, 'tokens.json'));
  for (const seed of opts.seedTokens ?? []) tokens.import(seed.token, seed.role, seed.name);
  const firstToken = tokens.isEmpty() ? tokens.create('operator', 'first-operator') : undefined;

  let store: ControllerStore | undefined;
  const registry = new HostRegistry({
    policy: {
      heartbeatMs: opts.heartbeatMs ?? 5_000,
      downAfterMs: opts.downAfterMs ?? 5 * 60_000,
    },
    onChange: (_name, kind) => store?.changed(kind),
  });
  store = new ControllerStore(opts.dataDir, () => registry.persisted(), 500, 10_000, Date.now, log);
  registry.load(store.load());
  const hub = new LogHub({ windowLines: opts.logWindowLines });
  // With --nats, agents' lines come from NATS too and `fleet logs` reads across the controllers sharing it.
  const nats = natsAt
    ? (require('./nats/nats-data-plane') as typeof import('./nats/nats-data-plane')).createNatsDataPlane({
        target: natsAt,
        hub,
        log,
        name: `fleet controller ${os.hostname()} pid ${process.pid}`,
        logsRetentionMs: opts.natsLogsRetentionMs,
      })
    : undefined;
  const auth = (metadata: Parameters<typeof authorize>[1], method: string) => authorize(tokens, metadata, method);
  const streams = new OpenStreams();
  const artifacts = new ArtifactStore(opts.dataDir, opts.maxArtifactBytes);
  const book = new ReleaseBook(opts.dataDir);
  const driver = new DeployDriver({
    book,
    registry,
    log,
    onFinished: () => artifacts.prune(book.recentDigests()),
    // With --nats, each new step (and state) also goes to fleet.<cluster>.deploys.<app>, fire and forget.
    onChange: nats && ((d, steps) => nats.publishDeployment(d, steps)),
  });

  const server = new Server({
    // A big `fleet start` or a long log tail from an agent must not cut its link (grpc's default is 4 MB).
    'grpc.max_receive_message_length': MAX_MESSAGE_BYTES,
    // Agents ping every 10 s to find dead links; allow it.
    'grpc.keepalive_permit_without_calls': 1,
    'grpc.http2.min_ping_interval_without_data_ms': 5_000,
  });
  server.addService(
    FleetService,
    createControllerService({
      registry,
      logs: nats?.feed ?? hub,
      authorize: auth,
      mode: 'controller',
      streams,
      deploy: createDeployService({ registry, artifacts, book, driver, authorize: auth, streams }),
      ping: { pid: process.pid, version: FLEET_VERSION, home: opts.dataDir, startedMs: Date.now(), host: os.hostname() },
      tokens: {
        create: (role, name) => tokens.create(role, name),
        revoke: (id) => {
          const info = tokens.revoke(id);
          const ended = streams.revoke(info.id);
          if (ended > 0) log(`token ${info.id} revoked: ended ${ended} open stream(s)`);
          return info;
        },
        list: () => tokens.list(),
      },
    }),
  );
  server.addService(AgentLinkService, createAgentLinkServer({ registry, logs: hub, authorize: auth, streams, log, artifacts }));

  const boundPort = await new Promise<number>((resolve, reject) =>
    server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, credentials, (err, p) => (err ? reject(new BadInputError(`cannot listen on ${opts.listen}: ${err.message}`, { hint: 'is another controller on that port? pick another with --listen' })) : resolve(p))),
  );
  let serving = true;
  let metrics: RunningMetricsServer | undefined;
  if (opts.metricsListen && metricsAt) {
    // Beyond loopback: a viewer (or operator) token, over HTTPS when the controller has a certificate.
    const open = isLoopbackAddress(metricsAt.host);
    try {
      metrics = await startMetricsServer({
        listen: opts.metricsListen,
        snapshot: registrySnapshot(registry, book),
        health: () => (serving ? { ok: true, detail: `controller listening on ${host}:${boundPort}` } : { ok: false, detail: 'the controller is stopping' }),
        guard: open ? undefined : tokenStoreGuard(tokens, FleetService.list.path),
        tls: tls && !open ? { cert: fs.readFileSync(opts.tlsCert!), key: fs.readFileSync(opts.tlsKey!) } : undefined,
        log,
      });
    } catch (err) {
      server.forceShutdown();
      throw err;
    }
  }
  nats?.start();
  const tickEvery = Math.max(50, Math.min(1000, Math.floor(registry.policy.heartbeatMs / 2)));
  const ticker = setInterval(() => registry.tick(), tickEvery);
  driver.resumeAll();
  const address = `${host}:${boundPort}`;
  if (firstToken) {
    announce(
      `First start: an operator token was created (id ${firstToken.info.id}). It is shown this once; store it now:\n\n  ${firstToken.token}\n\n` +
        `On a laptop: save it to a file (chmod 600) and run\n  fleet context add prod --controller ${os.hostname()}:${boundPort} --token-file <file>${tls ? ' --tls-ca <ca.pem>' : ' --insecure'}\n` +
        `For each server: fleet token create --role agent --name <host>\n`,
    );
  }
  if (!tls) {
    log(
      opts.insecure && !isLoopbackAddress(host)
        ? `WARNING: serving plaintext on ${address} (--insecure): tokens and logs cross the network unencrypted`
        : `serving plaintext on loopback ${address}; give --tls-cert/--tls-key to serve other machines`,
    );
  }
  log(`fleet ${FLEET_VERSION} controller listening on ${address}${tls ? ' (TLS)' : ''}, data in ${opts.dataDir}, ${registry.all().length} known hosts`);

  return {
    port: boundPort,
    address,
    metricsUrl: metrics?.url,
    stop: async () => {
      serving = false;
      await metrics?.close();
      clearInterval(ticker);
      driver.stop();
      store?.flush();
      await nats?.stop();
      await new Promise<void>((resolve) => {
        server.tryShutdown(() => resolve());
        setTimeout(() => {
          server.forceShutdown();
          resolve();
        }, 500).unref();
      });
    },
  };
}

/** The foreground `fleet controller` process: runs until SIGINT/SIGTERM. */
export async function main(opts: ControllerOptions): Promise<void> {
  const running = await startController(opts);
  const stop = (): void => {
    running.stop().then(() => process.exit(0), () => process.exit(1));
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}
