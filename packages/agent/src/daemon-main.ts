// The local daemon (`fleet agent`, or started by the CLI on first use): an
// agent and a controller in one process, serving the Fleet service on
// FLEET_HOME/fleet.sock with one host, this one. With --controller it also
// links the host to a fleet's controller. Exiting it — a signal, a crash, an
// upgrade — leaves every app running under its runner; the next daemon
// re-adopts them. Only `fleet kill` stops the apps.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { clientCredentials, type ClientTlsOptions, FleetService, FLEET_VERSION, fleetPaths, type NatsFlags, natsTarget, resolveHome } from '@fleet/protocol';
import { createControllerService, HostRegistry, LogHub, loadMetricsHttp, localAuthorizer, type RunningMetricsServer } from '@fleet/controller';
import type { ArtifactFetcher } from './releases/release-host';
import { appsRootOf, lazyReleaseHost } from './releases/lazy-release-host';
import { AppRegistry } from './daemon/app-registry';
import { createHostService } from './daemon/host-service';
import { LocalHostLink } from './daemon/local-host-link';
import { localDeploys } from './daemon/local-deploys';
import { MetricsSampler } from './daemon/metrics-sampler';
import { acquireLock } from './daemon/single-instance-lock';
import { baseEnv } from './daemon/base-env';
import type { ControllerLink } from './link/controller-link';
import { hostIdentity } from './link/host-identity';
import { hostVitals } from './daemon/host-vitals';

export interface ControllerTarget {
  /** host:port */
  address: string;
  tls: ClientTlsOptions;
  token?: string;
}

export interface DaemonOptions {
  home?: string;
  /** Log to stderr instead of FLEET_HOME/daemon.log (foreground `fleet agent`). */
  foreground?: boolean;
  /** The host's name (default: the machine's short hostname). */
  name?: string;
  labels?: Record<string, string>;
  /** Set in every app on this host, over the app's own env. */
  hostEnv?: Record<string, string>;
  controller?: ControllerTarget;
  logBufferLines?: number;
  /** Logs, events and metrics go to NATS instead of up the controller link (needs `controller`). @default off */
  nats?: NatsFlags;
  /** host:port for this host's GET /metrics, /healthz, /api/v1/*; beyond loopback only with metricsToken. @default off */
  metricsListen?: string;
  /** The secret of --metrics-token-file: required as `Authorization: Bearer` on every request but /healthz. */
  metricsToken?: string;
}

export async function main(opts: DaemonOptions = {}): Promise<void> {
  // A metrics address that breaks the rule (metrics-access.ts) stops the start before anything runs.
  // The endpoint's code (loadMetricsHttp) is loaded only by a daemon that may serve it.
  const metricsGuard = opts.metricsToken === undefined ? undefined : loadMetricsHttp().staticTokenGuard(opts.metricsToken);
  if (opts.metricsListen) loadMetricsHttp().checkMetricsListen(opts.metricsListen, { who: 'agent', token: metricsGuard !== undefined });
  const natsAt = opts.nats && natsTarget(opts.nats);
  const home = opts.home ?? resolveHome();
  const paths = fleetPaths(home);
  fs.mkdirSync(home, { recursive: true, mode: 0o700 });
  const logStream = opts.foreground ? process.stderr : fs.createWriteStream(paths.daemonLog, { flags: 'a', mode: 0o600 });
  const log = (msg: string): void => {
    logStream.write(`${new Date().toISOString()} [agent ${process.pid}] ${msg}\n`);
  };

  const release = await acquireLock(home);
  if (!release) {
    log('another daemon already serves this FLEET_HOME; exiting');
    if (opts.foreground) {
      process.stderr.write(`fleet agent: a daemon already runs for ${home}\n  fix: stop it first with \`fleet agent stop\`-like means (kill $(cat ${paths.pidFile})); its apps keep running and the new agent adopts them\n`);
      process.exitCode = 1;
    }
    return;
  }

  const hostEnv = opts.hostEnv ?? {};
  const identity = () => hostIdentity({ name: opts.name, labels: opts.labels, env: hostEnv });
  const registry = new AppRegistry({ paths, env: baseEnv(process.env), hostEnv, log });
  const sampler = new MetricsSampler(() => registry.allPids(), Number(process.env.FLEET_SAMPLE_MS || 5000));
  let link: ControllerLink | undefined;
  let metrics: RunningMetricsServer | undefined;
  // Local mode keeps its own release record and artifacts; an agent of a fleet fetches from its controller.
  const hosts = new HostRegistry();
  const deploys = localDeploys({ dataDir: path.join(home, 'deploys'), hosts, log });
  const fetchArtifact: ArtifactFetcher = (ref, file) => (link ? link.fetchArtifact(ref, file) : fs.promises.copyFile(deploys.artifactFile(ref.digest), file));
  const releases = lazyReleaseHost({ registry, appsRoot: appsRootOf(home), hostEnv, fetch: fetchArtifact, log });
  const host = createHostService({ registry, sampler, host: identity().name, hostEnv, releases });
  const startedMs = Date.now();

  // The embedded controller: one host, this one, linked in-process.
  hosts.attach(identity(), new LocalHostLink(host), 'local');
  deploys.loadIfOnDisk();
  const server = new Server();
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
    link?.stop();
    void metrics?.close();
    deploys.stop();
    sampler.stop();
    registry.detach();
    // Let in-flight replies (the `kill` answer) go out, but never hang on a stuck stream.
    server.tryShutdown(() => {});
    setTimeout(() => server.forceShutdown(), 200).unref();
    fs.rmSync(paths.socket, { force: true });
    fs.rmSync(paths.pidFile, { force: true });
    release();
    log(`exiting (${code}); apps keep running`);
    setTimeout(() => process.exit(code), 250);
  };

  server.addService(
    FleetService,
    createControllerService({
      registry: hosts,
      logs: new LogHub(),
      authorize: localAuthorizer,
      mode: 'local',
      // A host linked to a controller takes its releases from there: two numberings of one app's releases would collide.
      deploy: opts.controller ? undefined : deploys.handlers,
      ping: { pid: process.pid, version: FLEET_VERSION, home, startedMs, host: identity().name },
      kill: async () => {
        const stopped = await host.killAll();
        setImmediate(() => exit(0));
        return stopped;
      },
    }),
  );
  process.on('SIGTERM', () => exit(0));
  process.on('SIGINT', () => exit(0));
  process.on('SIGHUP', () => {}); // a closed terminal must not take the daemon down

  await registry.restore();
  sampler.start();
  if (!opts.controller) deploys.resumeAll();
  // The embedded controller hears from its own host as from any other (its apps it asks live).
  const selfReport = (): void => {
    hosts.heartbeat(identity().name, hostVitals(home));
  };
  selfReport();
  setInterval(selfReport, 5_000).unref();
  // We hold the lock, so a socket file here is a dead daemon's leftover.
  fs.rmSync(paths.socket, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${paths.socket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  fs.chmodSync(paths.socket, 0o600);
  fs.writeFileSync(paths.pidFile, String(process.pid), { mode: 0o600 });
  log(`fleet ${FLEET_VERSION} agent ${identity().name} serving ${paths.socket}`);
  if (opts.metricsListen) {
    // This host only: the embedded registry holds no other.
    metrics = await loadMetricsHttp().startMetricsServer({
      listen: opts.metricsListen,
      snapshot: loadMetricsHttp().registrySnapshot(hosts, opts.controller ? undefined : deploys),
      health: () => (exiting ? { ok: false, detail: 'the agent is exiting' } : { ok: true, detail: `agent ${identity().name}` }),
      guard: metricsGuard,
      log,
    }).catch((err: unknown) => {
      exit(1);
      throw err;
    });
  }

  if (opts.controller) {
    const dataPlane =
      natsAt &&
      new (require('./link/nats-uplink') as typeof import('./link/nats-uplink')).NatsUplink({
        target: natsAt,
        host: identity().name,
        instanceId: identity().instanceId,
        log,
        snapshot: () => host.snapshot(),
        vitals: () => hostVitals(home),
      });
    // Loaded only here: a host without a controller does not carry the link's code.
    link = new (require('./link/controller-link') as typeof import('./link/controller-link')).ControllerLink({
      dataPlane: dataPlane || undefined,
      address: opts.controller.address,
      credentials: clientCredentials(opts.controller.tls),
      token: opts.controller.token,
      identity,
      host,
      log,
      logBufferLines: opts.logBufferLines,
      positionsFile: path.join(paths.runDir, 'log-shipped.json'),
      vitals: () => hostVitals(home),
    });
    link.start();
  }
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`fleet agent failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
