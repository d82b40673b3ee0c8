// Supervises the instances of one app: launch, readiness, restart policy, stop,
// zero-downtime reload, scale. Decisions come from pure functions
// (restart-policy, instance-state); this file only acts on them. The clock and
// timers are injected so the same code runs in tests with a fake clock.
import {
  type AppSpec,
  ExecMode,
  type InstanceInfo,
  InstanceStatus,
  type RunnerState,
  RUNNER_PROTOCOL_VERSION,
} from '@fleet/protocol/runner';
import { aggregateMetrics } from './aggregate-metrics';
import { InstanceProcess } from './instance-process';
import { InstanceLifecycle } from './instance-state';
import { decideRestart, historyForUserStart, initialHistory, type RestartHistory } from './restart-policy';
import { LogFilePool, logSink } from './instance-logs';
import { ReadingsThrottle } from './readings-throttle';

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(t: NodeJS.Timeout | undefined): void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t),
};

export class RunnerError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

type Desired = 'online' | 'stopped';

/** A slot in the app: instance N, whichever process currently fills it. */
class Slot {
  proc?: InstanceProcess;
  history: RestartHistory = initialHistory();
  startedMs = 0;
  /** The release (AppSpec.release) the current process was started from. */
  release = 0;
  lastExitCode = 0;
  lastExitSignal = '';
  restartTimer?: NodeJS.Timeout;
  readyTimer?: NodeJS.Timeout;
  /** Settles when the current launch is online or has failed. */
  launching?: Promise<void>;
  /** Set when the current process is going away on purpose: its exit is not a crash. */
  expectingExit = false;
  removed = false;

  constructor(
    readonly index: number,
    readonly lifecycle: InstanceLifecycle,
    readonly createdMs: number,
  ) {}
}

/** How much of an instance's stderr is kept to explain a failed start. */
const STDERR_TAIL_BYTES = 4096;

/** A restart the user or a reload asked for: counted, but not part of any crash series. */
function countRestart(slot: Slot): void {
  slot.history = { ...slot.history, restarts: slot.history.restarts + 1 };
}

export interface AppRunnerOptions {
  spec: AppSpec;
  desired: Desired;
  clock?: Clock;
  version: string;
  onChange?: () => void;
  log?: (msg: string) => void;
}

export class AppRunner {
  spec: AppSpec;
  desired: Desired;
  private readonly clock: Clock;
  private readonly slots: Slot[] = [];
  private readonly logs = new LogFilePool();
  private readonly retiring = new Set<Promise<void>>();
  private reloading = false;
  private readonly startedMs: number;
  private readonly stderrTail = new WeakMap<InstanceProcess, string>();
  /** Paces pushes for vitals and app metrics (readings-throttle.ts). */
  private readonly readings: ReadingsThrottle;

  constructor(private readonly opts: AppRunnerOptions) {
    this.spec = opts.spec;
    this.desired = opts.desired;
    this.clock = opts.clock ?? systemClock;
    this.readings = new ReadingsThrottle(this.clock, () => this.changed());
    this.startedMs = this.clock.now();
  }

  // ---- commands -------------------------------------------------------------

  /** Brings every instance up (desired online); resolves when each is online or has failed. */
  async start(): Promise<void> {
    this.desired = 'online';
    this.ensureSlots(this.spec.instances);
    await Promise.all(this.slots.map((slot) => this.startSlot(slot)));
    this.changed();
  }

  async stop(indexes?: number[]): Promise<void> {
    const targets = indexes ? this.slots.filter((s) => indexes.includes(s.index)) : this.slots;
    if (!indexes) this.desired = 'stopped';
    await Promise.all(targets.map((slot) => this.stopSlot(slot, 'stopped by user')));
    this.changed();
  }

  /** Hard restart (PM2 `restart`): stop every instance, then start them again. */
  async restart(): Promise<void> {
    await Promise.all(this.slots.map((slot) => this.stopSlot(slot, 'restart requested')));
    for (const slot of this.slots) {
      slot.history = historyForUserStart(slot.history);
      countRestart(slot);
    }
    await this.start();
  }

  /**
   * Zero-downtime reload: per instance, start the replacement, wait until it is
   * ready, then drain and stop the old one. If a replacement fails, the old
   * instance keeps serving and the reload reports the failure.
   */
  async reload(reason = 'reload'): Promise<string> {
    if (this.reloading) {
      throw new RunnerError('CONFLICT', `a reload of ${this.spec.name} is already in progress`);
    }
    this.reloading = true;
    this.changed();
    try {
      if (this.desired !== 'online') {
        await this.start();
        return 'was stopped: started';
      }
      // The new spec may have fewer instances: those go (after the others are replaced).
      this.ensureSlots(this.spec.instances);
      for (const slot of this.slots.filter((s) => s.index < this.spec.instances)) {
        if (slot.removed) continue;
        await this.replaceSlot(slot, reason);
      }
      await this.dropSlotsFrom(this.spec.instances);
      await Promise.all([...this.retiring]);
      return 'reloaded';
    } finally {
      this.reloading = false;
      this.changed();
    }
  }

  async scale(count: number): Promise<void> {
    if (count < 0) throw new RunnerError('BAD_INPUT', 'instance count cannot be negative');
    this.spec = { ...this.spec, instances: count };
    await this.dropSlotsFrom(count);
    if (this.desired === 'online') {
      this.ensureSlots(count);
      await Promise.all(this.slots.map((slot) => this.startSlot(slot)));
    }
    this.changed();
  }

  /** Stops and removes the slots numbered `count` and up. */
  private async dropSlotsFrom(count: number): Promise<void> {
    const extra = this.slots.filter((s) => s.index >= count);
    await Promise.all(
      extra.map(async (slot) => {
        slot.removed = true;
        await this.stopSlot(slot, 'scaled down');
      }),
    );
    for (const slot of extra) this.slots.splice(this.slots.indexOf(slot), 1);
  }

  /** Takes a new spec; running instances pick it up on their next start or reload. */
  update(spec: AppSpec): void {
    this.spec = spec;
    this.changed();
  }

  async shutdown(): Promise<void> {
    await this.stop();
    this.readings.cancel();
    await Promise.all([...this.retiring]);
    this.logs.flushAll();
    await this.logs.closeAll();
  }

  reopenLogs(): void {
    this.logs.reopenAll();
  }

  /** Restarts one instance without downtime when it can (memory limit, cron). */
  async recycle(index: number, reason: string): Promise<void> {
    const slot = this.slots.find((s) => s.index === index);
    if (!slot || this.desired !== 'online' || this.reloading) return;
    // Takes the reload lock: a user's reload meanwhile is refused, not interleaved.
    this.reloading = true;
    try {
      await this.replaceSlot(slot, reason);
    } catch (err) {
      this.log(`${reason}: ${(err as Error).message}`);
    } finally {
      this.reloading = false;
      this.changed();
    }
  }

  pids(): { index: number; pid: number }[] {
    return this.slots.filter((s) => s.proc?.running).map((s) => ({ index: s.index, pid: s.proc!.pid }));
  }

  state(): RunnerState {
    const instances = this.slots.map((slot) => this.info(slot));
    return {
      protocolVersion: RUNNER_PROTOCOL_VERSION,
      runnerVersion: this.opts.version,
      runnerPid: process.pid,
      spec: this.spec,
      desired: this.desired,
      instances,
      reloading: this.reloading,
      startedMs: this.startedMs,
      metrics: aggregateMetrics(instances.map((i) => i.metrics)),
    };
  }

  // ---- slots ----------------------------------------------------------------

  private ensureSlots(count: number): void {
    for (let i = 0; i < count; i++) {
      if (!this.slots.some((s) => s.index === i)) {
        const lifecycle = new InstanceLifecycle(() => this.clock.now(), InstanceStatus.INSTANCE_STATUS_STOPPED, 20, () =>
          this.changed(),
        );
        this.slots.push(new Slot(i, lifecycle, this.clock.now()));
      }
    }
    this.slots.sort((a, b) => a.index - b.index);
  }

  private async startSlot(slot: Slot): Promise<void> {
    const status = slot.lifecycle.status;
    if (status === InstanceStatus.INSTANCE_STATUS_ONLINE) return;
    if (status === InstanceStatus.INSTANCE_STATUS_LAUNCHING) return slot.launching;
    if (status === InstanceStatus.INSTANCE_STATUS_WAITING_RESTART) {
      this.clock.clearTimeout(slot.restartTimer);
    }
    if (status === InstanceStatus.INSTANCE_STATUS_ERRORED) slot.history = historyForUserStart(slot.history);
    await this.launch(slot, 'start');
  }

  /** Launches a process into the slot and resolves once it is online or has failed. */
  private launch(slot: Slot, reason: string): Promise<void> {
    slot.lifecycle.transition(InstanceStatus.INSTANCE_STATUS_LAUNCHING, reason);
    const proc = this.spawn(slot.index);
    slot.proc = proc;
    slot.release = this.spec.release;
    slot.expectingExit = false;
    slot.startedMs = this.clock.now();
    slot.launching = new Promise<void>((resolve) => {
      const settle = (): void => {
        this.clock.clearTimeout(slot.readyTimer);
        proc.off('ready', onReady);
        resolve();
      };
      const onReady = (): void => {
        if (slot.proc !== proc || slot.lifecycle.status !== InstanceStatus.INSTANCE_STATUS_LAUNCHING) return;
        slot.lifecycle.transition(InstanceStatus.INSTANCE_STATUS_ONLINE, 'ready');
        settle();
      };
      proc.once('exit', (code, signal) => {
        settle();
        this.onExit(slot, proc, code, signal);
      });
      const signal = this.readySignal(proc);
      if (signal === 'none') {
        // Online at once (PM2's meaning), but the launch settles only once the
        // process listens or survives min_uptime, so `fleet start` can report an
        // app that dies on start (port in use, missing module) as a failure.
        setImmediate(() => {
          if (slot.proc !== proc || slot.lifecycle.status !== InstanceStatus.INSTANCE_STATUS_LAUNCHING) return;
          slot.lifecycle.transition(InstanceStatus.INSTANCE_STATUS_ONLINE, 'started');
        });
        proc.once('ready', settle);
        slot.readyTimer = this.clock.setTimeout(settle, Math.min(this.spec.restart?.minUptimeMs ?? 1000, 5000));
        return;
      }
      proc.on('ready', (kind) => {
        if (signal === 'ready-message' ? kind === 'ready-message' : true) onReady();
      });
      slot.readyTimer = this.clock.setTimeout(() => {
        if (slot.proc !== proc || slot.lifecycle.status !== InstanceStatus.INSTANCE_STATUS_LAUNCHING) return;
        // Ready means ready: a timeout is a failed launch, handled like a crash
        // (the instance never shows online).
        this.log(`instance ${slot.index} not ready after ${this.spec.listenTimeoutMs} ms (waiting for ${signal}); killing it`);
        proc.signal('SIGKILL');
      }, this.spec.listenTimeoutMs);
    });
    return slot.launching;
  }

  /** What "ready" means for this app: the issue's rules, in one place. */
  private readySignal(proc: InstanceProcess): 'ready-message' | 'listening' | 'none' {
    if (this.spec.waitReady && proc.isNode) return 'ready-message';
    if (this.spec.execMode === ExecMode.EXEC_MODE_CLUSTER && proc.isNode) return 'listening';
    return 'none';
  }

  private spawn(index: number): InstanceProcess {
    const proc = InstanceProcess.launch({ spec: this.spec, instance: index, env: this.instanceEnv(index) });
    const out = logSink(this.logs, this.spec, index, 'out');
    const err = logSink(this.logs, this.spec, index, 'err');
    proc.on('stdout', out);
    proc.on('stderr', err);
    proc.on('stderr', (chunk) => {
      // Keep the tail of stderr so a failed start can say why (EADDRINUSE, a missing module).
      // Trim the chunk first: an app flooding stderr must not cost a 64 KB copy per chunk.
      const tail = (this.stderrTail.get(proc) ?? '') + chunk.subarray(-STDERR_TAIL_BYTES).toString('utf8');
      this.stderrTail.set(proc, tail.slice(-STDERR_TAIL_BYTES));
    });
    proc.once('exit', () => {
      out(null);
      err(null);
    });
    proc.on('readings', () => this.readings.readingsChanged());
    return proc;
  }

  private instanceEnv(index: number): Record<string, string> {
    // The runner's own env is already the minimal base the agent chose (base-env.ts).
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
    Object.assign(env, this.spec.env);
    env[this.spec.instanceVar || 'NODE_APP_INSTANCE'] = String(index);
    env.FLEET_APP_NAME = this.spec.name;
    // Lets the preload shim and @fleet/probe tell that their parent is this runner (see shim/vitals-shim.js).
    env.FLEET_RUNNER_PID = String(process.pid);
    env.name = this.spec.name; // PM2 sets these; real apps read them
    env.pm_id = String(index);
    if (this.spec.incrementVar) {
      const base = Number(env[this.spec.incrementVar] ?? 0);
      env[this.spec.incrementVar] = String(base + index);
    }
    return env;
  }

  private onExit(slot: Slot, proc: InstanceProcess, code: number | null, signal: NodeJS.Signals | null): void {
    // Whatever stays in the group (a grandchild that ignored the signal) goes too.
    proc.reapGroup();
    if (slot.proc !== proc) return; // a retired process: its replacement owns the slot
    slot.lastExitCode = code ?? 0;
    slot.lastExitSignal = signal ?? '';
    const uptimeMs = this.clock.now() - slot.startedMs;
    const how = signal ? `killed by ${signal}` : `exited with code ${code}`;
    if (slot.expectingExit || slot.removed) {
      if (slot.lifecycle.canTransition(InstanceStatus.INSTANCE_STATUS_STOPPED)) {
        slot.lifecycle.transition(InstanceStatus.INSTANCE_STATUS_STOPPED, how);
      }
      return;
    }
    const decision = decideRestart(this.spec.restart!, slot.history, { code, signal, uptimeMs });
    slot.history = decision.history;
    const cause = this.lastErrorLine(proc);
    if (cause) decision.reason += ` — ${cause}`;
    this.log(`instance ${slot.index} (pid ${proc.pid}) ${how} after ${uptimeMs} ms: ${decision.reason}`);
    if (decision.action === 'stop') {
      slot.lifecycle.transition(InstanceStatus.INSTANCE_STATUS_STOPPED, decision.reason);
    } else if (decision.action === 'errored') {
      slot.lifecycle.transition(InstanceStatus.INSTANCE_STATUS_ERRORED, decision.reason);
    } else {
      slot.lifecycle.transition(InstanceStatus.INSTANCE_STATUS_WAITING_RESTART, decision.reason);
      slot.restartTimer = this.clock.setTimeout(() => {
        if (slot.lifecycle.status !== InstanceStatus.INSTANCE_STATUS_WAITING_RESTART || slot.removed) return;
        void this.launch(slot, 'automatic restart');
      }, decision.delayMs);
    }
  }

  /** The most telling line of what the process printed to stderr last. */
  private lastErrorLine(proc: InstanceProcess): string | undefined {
    const lines = (this.stderrTail.get(proc) ?? '').split('\n').map((l) => l.trim()).filter(Boolean);
    // Node prints `Error: bind EADDRINUSE null:3999` then a stack and an object dump.
    const line = lines.filter((l) => /^\w*Error\b.*:/.test(l)).at(-1) ?? lines.at(-1);
    if (!line) return undefined;
    const port = /EADDRINUSE\D*?(\d+)\s*$/.exec(line);
    if (port) return `port ${port[1]} is already in use (${line})`;
    return line.length > 200 ? line.slice(0, 200) + '…' : line;
  }

  private async stopSlot(slot: Slot, reason: string): Promise<void> {
    this.clock.clearTimeout(slot.restartTimer);
    this.clock.clearTimeout(slot.readyTimer);
    const proc = slot.proc;
    const status = slot.lifecycle.status;
    if (!proc || !proc.running) {
      if (slot.lifecycle.canTransition(InstanceStatus.INSTANCE_STATUS_STOPPED) && status !== InstanceStatus.INSTANCE_STATUS_STOPPED) {
        slot.lifecycle.transition(InstanceStatus.INSTANCE_STATUS_STOPPED, reason);
      }
      return;
    }
    slot.expectingExit = true;
    if (slot.lifecycle.canTransition(InstanceStatus.INSTANCE_STATUS_STOPPING)) {
      slot.lifecycle.transition(InstanceStatus.INSTANCE_STATUS_STOPPING, reason);
    }
    await this.terminate(proc, false);
  }

  /**
   * Stops one process: kill_signal to its group, SIGKILL after kill_timeout.
   * With `drain`, a Node instance first stops taking connections and closes
   * them cleanly (bounded), so nothing in flight is cut.
   */
  private terminate(proc: InstanceProcess, drain: boolean): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!proc.running) return resolve();
      let killTimer: NodeJS.Timeout | undefined;
      let drainTimer: NodeJS.Timeout | undefined;
      const done = (): void => {
        this.clock.clearTimeout(killTimer);
        this.clock.clearTimeout(drainTimer);
        resolve();
      };
      proc.once('exit', done);
      const sendSignal = (): void => {
        this.clock.clearTimeout(drainTimer);
        if (!proc.running) return;
        proc.signal((this.spec.killSignal || 'SIGINT') as NodeJS.Signals);
        killTimer = this.clock.setTimeout(() => proc.signal('SIGKILL'), this.spec.killTimeoutMs);
      };
      if (drain && proc.drain()) {
        proc.once('drained', sendSignal);
        // Drain is bounded: a connection that never finishes does not hold the reload.
        drainTimer = this.clock.setTimeout(sendSignal, Math.max(this.spec.killTimeoutMs, 5000));
      } else {
        sendSignal();
      }
    });
  }

  /** Replaces the process in a slot by a new ready one, then retires the old. */
  private async replaceSlot(slot: Slot, reason: string): Promise<void> {
    const old = slot.proc;
    const oldServing = old?.running && slot.lifecycle.status === InstanceStatus.INSTANCE_STATUS_ONLINE;
    if (!oldServing || !old) {
      // Nothing serving in this slot: a plain (re)start is all there is to do.
      if (old?.running) await this.stopSlot(slot, reason);
      await this.launch(slot, reason);
      return;
    }
    if (!old.isNode) {
      // A non-Node process cannot hand over its port: stop, then start.
      await this.stopSlot(slot, reason);
      countRestart(slot);
      await this.launch(slot, reason);
      return;
    }
    const release = this.spec.release;
    const fresh = this.spawn(slot.index);
    const ready = await this.waitReplacementReady(fresh);
    if (ready !== true) {
      fresh.signal('SIGKILL');
      throw new RunnerError('FAILED', `instance ${slot.index}: the new process ${ready}; the old one (pid ${old.pid}) keeps serving`);
    }
    // Swap: the slot now belongs to the new process; the old one drains in the background.
    slot.proc = fresh;
    slot.release = release;
    slot.startedMs = this.clock.now();
    countRestart(slot);
    // The slot stays online throughout (no transition): that is the point of a reload.
    this.log(`instance ${slot.index}: ${reason}: pid ${fresh.pid} ready, draining pid ${old.pid}`);
    fresh.once('exit', (code, signal) => this.onExit(slot, fresh, code, signal));
    const retire = this.terminate(old, true).finally(() => this.retiring.delete(retire));
    this.retiring.add(retire);
    this.changed();
  }

  /** Resolves true once a replacement is ready, or with why it is not. */
  private waitReplacementReady(proc: InstanceProcess): Promise<true | string> {
    const signal = this.readySignal(proc);
    return new Promise((resolve) => {
      const timeoutMs = this.spec.listenTimeoutMs;
      const finish = (result: true | string): void => {
        this.clock.clearTimeout(timer);
        proc.off('ready', onReady);
        proc.off('exit', onExit);
        resolve(result);
      };
      const onReady = (kind: string): void => {
        if (signal === 'ready-message' && kind !== 'ready-message') return;
        finish(true);
      };
      const onExit = (code: number | null, sig: string | null): void =>
        finish(`exited (${sig ?? `code ${code}`}) before it was ready`);
      proc.on('ready', onReady);
      proc.on('exit', onExit);
      // Fork mode has no readiness contract; wait for it to listen (so the port is
      // taken over), but a process that never listens is simply running.
      const timer = this.clock.setTimeout(
        () => finish(signal === 'none' ? true : `was not ready within listen_timeout (${timeoutMs} ms)`),
        timeoutMs,
      );
    });
  }

  private info(slot: Slot): InstanceInfo {
    const status = slot.lifecycle.status;
    const running = status === InstanceStatus.INSTANCE_STATUS_ONLINE || status === InstanceStatus.INSTANCE_STATUS_LAUNCHING || status === InstanceStatus.INSTANCE_STATUS_STOPPING;
    // Readings belong to the process that sent them: none for an instance that is not running.
    const live = running && slot.proc?.running ? slot.proc : undefined;
    return {
      app: this.spec.name,
      appId: 0,
      instance: slot.index,
      pid: live ? live.pid : 0,
      status,
      cpuPercent: 0,
      memoryBytes: 0,
      restarts: slot.history.restarts,
      unstableRestarts: slot.history.consecutiveUnstable,
      uptimeMs: status === InstanceStatus.INSTANCE_STATUS_ONLINE ? this.clock.now() - slot.startedMs : 0,
      execMode: this.spec.execMode,
      createdMs: slot.createdMs,
      startedMs: slot.startedMs,
      lastExitCode: slot.lastExitCode,
      lastExitSignal: slot.lastExitSignal,
      events: slot.lifecycle.events,
      host: '',
      release: slot.release,
      eventLoopLagMs: live?.vitals?.lagMs ?? 0,
      heapUsedBytes: live?.vitals?.heapUsed ?? 0,
      heapTotalBytes: live?.vitals?.heapTotal ?? 0,
      metrics: live?.metrics ?? [],
    };
  }

  private changed(): void {
    this.readings.pushed();
    this.opts.onChange?.();
  }

  private log(msg: string): void {
    (this.opts.log ?? ((m: string) => process.stderr.write(`${new Date().toISOString()} [${this.spec.name}] ${m}\n`)))(msg);
  }
}
