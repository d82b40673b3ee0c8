// Local mode: the first command a person types starts the daemon. The CLI only
// spawns and waits; when two CLIs race and both spawn, the daemon itself makes
// sure one survives, and both CLIs just wait for a Ping to succeed.
import { spawn } from 'node:child_process';
import { fleetPaths, UnavailableError, type PingResponse } from '@fleet/protocol';
import { createRawClient, wrapClient, type FleetApi } from './client';

export const FIRST_PING_DEADLINE_MS = 1_000;
export const START_TIMEOUT_MS = 10_000;
export const POLL_INTERVAL_MS = 50;

/**
 * V8 flags for the daemon: one V8 worker thread instead of four saves ~0.8 MB
 * of private memory (their malloc arenas and stacks) at no cost to an idle
 * daemon. A smaller young generation (--max-semi-space-size, as runners use)
 * measured worse here: more survivors promoted into the old space.
 */
export const DAEMON_NODE_FLAGS = ['--v8-pool-size=1'];

export interface DaemonConnection {
  api: FleetApi;
  pong: PingResponse;
  /** true when this CLI started the daemon. */
  spawned: boolean;
}

export interface LauncherDeps {
  env: NodeJS.ProcessEnv;
  /** Starts a detached daemon for `home`; injectable so tests never fork one. */
  spawnDaemon?: (home: string, env: NodeJS.ProcessEnv) => void;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

/** Connects to a running daemon; undefined when none answers. */
export async function connectIfRunning(home: string): Promise<DaemonConnection | undefined> {
  const api = wrapClient(createRawClient(fleetPaths(home).socket));
  try {
    const pong = await api.ping(FIRST_PING_DEADLINE_MS);
    return { api, pong, spawned: false };
  } catch (err) {
    api.close();
    if (err instanceof UnavailableError) return undefined;
    throw err;
  }
}

/** Connects to the daemon, starting it when none answers. */
export async function ensureDaemon(home: string, deps: LauncherDeps): Promise<DaemonConnection> {
  return (await connectIfRunning(home)) ?? startDaemon(home, deps);
}

/** Starts the daemon (none answered a ping) and waits until it answers. */
export async function startDaemon(home: string, deps: LauncherDeps): Promise<DaemonConnection> {
  const sleep = deps.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const now = deps.now ?? Date.now;
  (deps.spawnDaemon ?? spawnDaemon)(home, deps.env);

  const paths = fleetPaths(home);
  const api = wrapClient(createRawClient(paths.socket));
  const deadline = now() + START_TIMEOUT_MS;
  let lastError: unknown;
  while (now() < deadline) {
    await sleep(POLL_INTERVAL_MS);
    try {
      const pong = await api.ping(FIRST_PING_DEADLINE_MS);
      return { api, pong, spawned: true };
    } catch (err) {
      lastError = err;
    }
  }
  api.close();
  throw new UnavailableError(`the fleet daemon did not answer on ${paths.socket} within ${START_TIMEOUT_MS / 1000} s`, {
    hint: `see ${paths.daemonLog}, or run "fleet agent" in a terminal to see why it does not start`,
    cause: lastError,
  });
}

export function daemonEntryPoint(): string {
  try {
    return require.resolve('@fleet/agent/daemon');
  } catch (err) {
    throw new UnavailableError('cannot find the fleet daemon (@fleet/agent/daemon)', {
      hint: 'build the workspace: npm run build',
      cause: err,
    });
  }
}

export function spawnDaemon(home: string, env: NodeJS.ProcessEnv): void {
  const child = spawn(process.execPath, [...DAEMON_NODE_FLAGS, daemonEntryPoint()], {
    env: { ...env, FLEET_HOME: home },
    detached: true,
    stdio: 'ignore',
  });
  // A spawn failure shows up as the daemon never answering; don't crash on it here.
  child.on('error', () => undefined);
  child.unref();
}
