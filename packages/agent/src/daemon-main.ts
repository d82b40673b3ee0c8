// The local daemon (`fleet agent`, or started by the CLI on first use): an agent
// serving the Fleet service on FLEET_HOME/fleet.sock. Exiting it — a signal, a
// crash, an upgrade — leaves every app running under its runner; the next
// daemon re-adopts them. Only `fleet kill` stops the apps.
import * as fs from 'node:fs';
import * as os from 'node:os';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { FleetService, FLEET_VERSION, fleetPaths, resolveHome } from '@fleet/protocol';
import { AppRegistry } from './daemon/app-registry';
import { createFleetService } from './daemon/fleet-service';
import { MetricsSampler } from './daemon/metrics-sampler';
import { acquireLock } from './daemon/single-instance-lock';
import { baseEnv } from './daemon/base-env';

export interface DaemonOptions {
  home?: string;
  /** Log to stderr instead of FLEET_HOME/daemon.log (foreground `fleet agent`). */
  foreground?: boolean;
}

export async function main(opts: DaemonOptions = {}): Promise<void> {
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
    if (opts.foreground) process.exitCode = 1;
    return;
  }

  const registry = new AppRegistry({ paths, env: baseEnv(process.env), log });
  const sampler = new MetricsSampler(() => registry.allPids(), Number(process.env.FLEET_SAMPLE_MS || 5000));
  const server = new Server();
  let exiting = false;
  const exit = (code: number): void => {
    if (exiting) return;
    exiting = true;
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
    createFleetService({
      registry,
      sampler,
      home,
      startedMs: Date.now(),
      onKill: () => exit(0),
    }),
  );
  process.on('SIGTERM', () => exit(0));
  process.on('SIGINT', () => exit(0));
  process.on('SIGHUP', () => {}); // a closed terminal must not take the daemon down

  await registry.restore();
  sampler.start();
  // We hold the lock, so a socket file here is a dead daemon's leftover.
  fs.rmSync(paths.socket, { force: true });
  await new Promise<void>((resolve, reject) =>
    server.bindAsync(`unix:${paths.socket}`, ServerCredentials.createInsecure(), (err) => (err ? reject(err) : resolve())),
  );
  fs.chmodSync(paths.socket, 0o600);
  fs.writeFileSync(paths.pidFile, String(process.pid), { mode: 0o600 });
  log(`fleet ${FLEET_VERSION} agent on ${os.hostname()} serving ${paths.socket}`);
}

if (require.main === module) {
  main().catch((err: Error) => {
    process.stderr.write(`fleet agent failed: ${err.stack ?? err.message}\n`);
    process.exit(1);
  });
}
