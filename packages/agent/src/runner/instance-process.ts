// One running OS process of an instance, whatever launched it. Node scripts run
// as cluster workers of the runner in both exec modes: the runner (primary)
// owns every listening socket, so a replacement can take over a fixed port
// before the old process lets go of it — that is what makes fork-mode reload
// zero-downtime. Other programs (python, binaries, `npm start`) are spawned
// plainly; they cannot share a port, so their reload is a restart.
//
// Each process gets its own process group (see GROUP_LAUNCHER for workers,
// `detached` for children) so a stop signals the app's whole tree and leaves no orphan.
import cluster, { type Worker } from 'node:cluster';
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AppSpec } from '@fleet/protocol/runner';
import type { AppMetric } from './metric-kind';
import { parseMetrics, parseVitals, type Vitals } from './probe-messages';

/** Preloaded into every Node instance: reload draining, and vitals (lag, heap) for the runner. */
const SHIMS = ['drain-shim.js', 'vitals-shim.js'].map((f) => path.resolve(__dirname, '../../../shim', f));

/**
 * How a worker gets a process group of its own. cluster.fork has no `detached`
 * and Node no setpgid, so the worker is launched through a program that sets
 * it and then execs node in place (pid, fds and the IPC channel unchanged).
 * perl (essential on Debian) makes a new group in the runner's session; setsid
 * makes a new session, which on kernels with scheduler autogroups also makes a
 * new CPU-share group per worker — measurable under load — so it is the fallback.
 */
const GROUP_LAUNCHER: { execPath: string; args: string[] } | undefined = (() => {
  const perl = ['/usr/bin/perl', '/bin/perl'].find((p) => fs.existsSync(p));
  if (perl) return { execPath: perl, args: ['-e', 'setpgrp(0,0); exec {$ARGV[0]} @ARGV or die "fleet: exec $ARGV[0]: $!\n"'] };
  const setsid = ['/usr/bin/setsid', '/bin/setsid'].find((p) => fs.existsSync(p));
  if (setsid) return { execPath: setsid, args: [] };
  return undefined;
})();

export interface LaunchRequest {
  spec: AppSpec;
  instance: number;
  env: Record<string, string>;
}

export interface InstanceProcessEvents {
  /** Became ready: listening (`kind` 'listening') or sent 'ready' over IPC. */
  ready: [kind: 'listening' | 'ready-message'];
  exit: [code: number | null, signal: NodeJS.Signals | null];
  drained: [];
  stdout: [chunk: Buffer];
  stderr: [chunk: Buffer];
  /** Sent new vitals or metrics (read them from `vitals` / `metrics`). */
  readings: [];
}

export class InstanceProcess extends EventEmitter<InstanceProcessEvents> {
  readonly pid: number;
  readonly isNode: boolean;
  private readonly worker?: Worker;
  private exited = false;
  /** What the preload shim last reported (lag, heap); undefined before its first report. */
  vitals?: Vitals;
  /** What @fleet/probe last reported: the app's own metrics, as of its last report. */
  metrics: AppMetric[] = [];

  private constructor(child: ChildProcess, worker: Worker | undefined) {
    super();
    this.worker = worker;
    this.isNode = worker !== undefined;
    this.pid = child.pid ?? -1;
    child.stdout?.on('data', (chunk: Buffer) => this.emit('stdout', chunk));
    child.stderr?.on('data', (chunk: Buffer) => this.emit('stderr', chunk));
    if (worker) {
      worker.on('listening', () => this.emit('ready', 'listening'));
      worker.on('message', (msg: unknown) => {
        if (msg === 'ready') this.emit('ready', 'ready-message');
        else if (isFleetMessage(msg, 'drained')) this.emit('drained');
        else if (isFleetMessage(msg, 'vitals')) this.take(parseVitals(msg), undefined);
        else if (isFleetMessage(msg, 'metrics')) this.take(undefined, parseMetrics(msg));
      });
      // A worker can error (EPIPE on its channel) while exiting; 'exit' still follows.
      worker.on('error', () => {});
    }
    child.on('error', () => {});
    child.once('exit', (code, signal) => {
      this.exited = true;
      this.emit('exit', code, signal);
    });
  }

  private take(vitals: Vitals | undefined, metrics: AppMetric[] | undefined): void {
    if (!vitals && !metrics) return; // malformed: keep what was last reported
    if (vitals) this.vitals = vitals;
    if (metrics) this.metrics = metrics;
    this.emit('readings');
  }

  static launch(req: LaunchRequest): InstanceProcess {
    const { spec } = req;
    const isNode = spec.interpreter === 'node';
    if (isNode) return InstanceProcess.launchWorker(req);
    const [command, args] =
      spec.interpreter === 'none' || spec.interpreter === ''
        ? [spec.script, spec.args]
        : [spec.interpreter, [...spec.interpreterArgs, spec.script, ...spec.args]];
    const child = spawn(command, args, {
      cwd: spec.cwd,
      env: req.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return new InstanceProcess(child, undefined);
  }

  private static launchWorker(req: LaunchRequest): InstanceProcess {
    const { spec } = req;
    const execArgv = [...spec.interpreterArgs, ...SHIMS.flatMap((shim) => ['--require', shim])];
    const realNode = process.execPath;
    cluster.setupPrimary({
      exec: spec.script,
      args: spec.args,
      cwd: spec.cwd,
      silent: true,
      execArgv: GROUP_LAUNCHER ? [...GROUP_LAUNCHER.args, realNode, ...execArgv] : execArgv,
    });
    let worker: Worker;
    try {
      // fork() spawns process.execPath synchronously: swap it for the launcher just for this call.
      if (GROUP_LAUNCHER) process.execPath = GROUP_LAUNCHER.execPath;
      worker = cluster.fork(req.env);
    } finally {
      process.execPath = realNode;
    }
    return new InstanceProcess(worker.process, worker);
  }

  get running(): boolean {
    return !this.exited;
  }

  /** Asks a Node instance to stop taking connections and close them cleanly. */
  drain(): boolean {
    if (!this.worker || this.exited || !this.worker.isConnected()) return false;
    try {
      this.worker.send({ fleet: 'drain' });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * SIGKILLs what is left of the process group after its leader exited (a
   * grandchild that ignored the stop signal, or outlived a crash). Safe: the
   * kernel does not reuse a pid while it still names a live process group.
   */
  reapGroup(): void {
    if (this.pid <= 0) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // the group is empty: nothing left behind
    }
  }

  /** Signals the instance's whole process group (falls back to the process alone). */
  signal(sig: NodeJS.Signals | number): void {
    if (this.exited || this.pid <= 0) return;
    try {
      process.kill(-this.pid, sig);
    } catch {
      try {
        process.kill(this.pid, sig);
      } catch {
        // already gone
      }
    }
  }
}

function isFleetMessage(msg: unknown, kind: string): boolean {
  return typeof msg === 'object' && msg !== null && (msg as { fleet?: unknown }).fleet === kind;
}
