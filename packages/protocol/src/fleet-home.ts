// The on-disk layout under FLEET_HOME. Every path a component needs is named
// here once, so the agent, runner and CLI agree without sharing code paths.
import * as os from 'node:os';
import * as path from 'node:path';

export interface FleetPaths {
  home: string;
  /** The daemon's gRPC unix socket (mode 0600). */
  socket: string;
  /** Runner sockets and state, one per app. */
  runDir: string;
  logsDir: string;
  /** The agent's desired state, written on every change. */
  stateFile: string;
  /** `fleet save` output read by `fleet resurrect`. */
  dumpFile: string;
  /** The daemon's own log. */
  daemonLog: string;
  pidFile: string;
}

export function resolveHome(env: NodeJS.ProcessEnv = process.env): string {
  return path.resolve(env.FLEET_HOME || path.join(os.homedir(), '.fleet'));
}

export function fleetPaths(home: string = resolveHome()): FleetPaths {
  return {
    home,
    socket: path.join(home, 'fleet.sock'),
    runDir: path.join(home, 'run'),
    logsDir: path.join(home, 'logs'),
    stateFile: path.join(home, 'state.json'),
    dumpFile: path.join(home, 'dump.json'),
    daemonLog: path.join(home, 'daemon.log'),
    pidFile: path.join(home, 'daemon.pid'),
  };
}

/** The socket a runner of one app listens on. Names are sanitised: app names may contain anything PM2 allows. */
export function runnerSocketPath(runDir: string, appName: string): string {
  return path.join(runDir, `${safeFileName(appName)}.sock`);
}

export function safeFileName(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, '_');
}

/**
 * The logs folder of whichever host runs the app. A CLI compiling for a
 * controller does not know the hosts' FLEET_HOME, so default log paths start
 * here and each agent puts its own logs folder in its place.
 */
export const HOST_LOGS_DIR = '/@fleet-host-logs';

/** A log path compiled against HOST_LOGS_DIR, placed in this host's logs folder. */
export function placeHostLogPath(file: string, logsDir: string): string {
  return file.startsWith(`${HOST_LOGS_DIR}/`) ? path.join(logsDir, file.slice(HOST_LOGS_DIR.length + 1)) : file;
}
