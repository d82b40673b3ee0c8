// A tiny deterministic driver for the rollout planner, for tests: a fake clock,
// a busy set, and hosts that answer each call according to a script. It plays
// the real driver's loop (deliver results -> advance -> start calls) one tick at
// a time and records everything it saw, and it checks the planner's contract on
// every step (nothing asked of a busy host, no switch before every host is
// prepared and the release command is done, a single finish, inputs never
// mutated).
import { DeploymentState, HostPhase, type Deployment, type RolloutStrategy } from '@fleet/protocol';
import { advance, apply, newDeployment, type DeployAction, type DeployEvent } from '../../src/deploy/rollout-plan';

export const T0 = 1_700_000_000_000;

/** One health answer; 'lost' makes the call report the host lost. */
export type HealthAnswer = { healthy: boolean; problem?: string; fatal?: boolean; restarts?: number } | 'lost';

export interface HostScript {
  /** What prepare reports the host runs now (default 1). */
  runningVersion?: number;
  prepare?: 'ok' | 'fail' | 'lost';
  /** How long this host's prepare takes (default: the prepare latency). */
  prepareMs?: number;
  switch?: 'ok' | 'fail' | 'lost';
  /** Restarts reported by the switch (the crash baseline); health reports it too unless told otherwise. */
  restarts?: number;
  /** The answer to the n-th check since the last switch (0-based); default always healthy. */
  health?: (n: number, sinceSwitchMs: number) => HealthAnswer;
  rollback?: 'ok' | 'fail' | 'lost';
  releaseCommand?: 'ok' | 'fail';
}

type CallKind = Exclude<DeployAction['kind'], 'finish'>;

export interface SimOptions {
  hosts: string[];
  script?: Record<string, HostScript>;
  /** Merged over the simulator's defaults (min_healthy 5 s, healthy_deadline 60 s). */
  strategy?: Partial<RolloutStrategy>;
  version?: number;
  tickMs?: number;
  latencyMs?: Partial<Record<CallKind, number>>;
}

export interface Timed<T> {
  at: number;
  value: T;
}

const DEFAULT_LATENCY: Record<CallKind, number> = {
  prepare: 1_500,
  'release-command': 2_000,
  switch: 1_000,
  check: 200,
  rollback: 1_000,
};

interface InFlight {
  due: number;
  key: string;
  event: DeployEvent;
}

export class Sim {
  d: Deployment;
  now = T0;
  readonly tickMs: number;
  readonly busy = new Set<string>();
  readonly actions: Timed<DeployAction>[] = [];
  readonly events: Timed<DeployEvent>[] = [];
  readonly phases: Timed<{ host: string; phase: HostPhase }>[] = [];
  readonly states: Timed<DeploymentState>[] = [];
  private inFlight: InFlight[] = [];
  private readonly script: Record<string, HostScript>;
  private readonly latency: Record<CallKind, number>;
  private readonly checks = new Map<string, number>();
  private readonly switchedAt = new Map<string, number>();
  private readonly lastPhase = new Map<string, HostPhase>();

  constructor(opts: SimOptions) {
    this.tickMs = opts.tickMs ?? 1_000;
    this.script = opts.script ?? {};
    this.latency = { ...DEFAULT_LATENCY, ...opts.latencyMs };
    const strategy = { minHealthyMs: 5_000, healthyDeadlineMs: 60_000, ...opts.strategy } as RolloutStrategy;
    this.d = newDeployment({ id: 'dep-1', app: 'web', version: opts.version ?? 2, hosts: opts.hosts, strategy, createdBy: 'alice', rollback: false, now: T0 });
    this.record();
  }

  get ended(): boolean {
    return this.d.endedMs > 0;
  }

  host(name: string): Deployment['hosts'][number] {
    const h = this.d.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name}`);
    return h;
  }

  /** One driver iteration at the current time, then the clock moves on by a tick. */
  tick(): DeployAction[] {
    this.deliverDue();
    const actions = this.advanceNow();
    this.now += this.tickMs;
    return actions;
  }

  /** Ticks until `until` holds (checked before each tick) or the deployment ended; throws when maxMs passes first. */
  run(until: (s: Sim) => boolean = () => false, maxMs = 3_600_000): this {
    const limit = this.now + maxMs;
    while (!this.ended && !until(this)) {
      if (this.now > limit) throw new Error(`simulation did not settle within ${maxMs} ms; state ${this.d.state}`);
      this.tick();
    }
    return this;
  }

  /** Ticks for `ms` of fake time (or until the end). */
  runFor(ms: number): this {
    const end = this.now + ms;
    while (!this.ended && this.now < end) this.tick();
    return this;
  }

  /** A control event from a user, folded in at the current time (between ticks). */
  control(action: 'pause' | 'resume' | 'cancel' | 'promote', by = 'bob'): this {
    return this.event({ kind: 'control', action, by });
  }

  /** The controller restarted: every call in flight is gone. */
  restart(): this {
    this.inFlight = [];
    this.busy.clear();
    return this.event({ kind: 'restarted' });
  }

  event(event: DeployEvent): this {
    const before = this.d;
    this.d = apply(deepFreeze(before), event, this.now);
    this.events.push({ at: this.now, value: event });
    this.record();
    return this;
  }

  // ---- what happened ----

  actionsOf<K extends DeployAction['kind']>(kind: K): Timed<Extract<DeployAction, { kind: K }>>[] {
    return this.actions.filter((a): a is Timed<Extract<DeployAction, { kind: K }>> => a.value.kind === kind);
  }

  /** Switches grouped by the advance that asked for them, hosts in order. */
  switchBatches(): string[][] {
    const groups = new Map<number, string[]>();
    for (const a of this.actionsOf('switch')) groups.set(a.at, [...(groups.get(a.at) ?? []), a.value.host]);
    return [...groups.values()];
  }

  eventsOf<K extends DeployEvent['kind']>(kind: K): Timed<Extract<DeployEvent, { kind: K }>>[] {
    return this.events.filter((e): e is Timed<Extract<DeployEvent, { kind: K }>> => e.value.kind === kind);
  }

  /** When the host (first) entered the phase; undefined if never. */
  phaseAt(host: string, phase: HostPhase): number | undefined {
    return this.phases.find((p) => p.value.host === host && p.value.phase === phase)?.at;
  }

  stateAt(state: DeploymentState): number | undefined {
    return this.states.find((s) => s.value === state)?.at;
  }

  phaseHistory(host: string): HostPhase[] {
    return this.phases.filter((p) => p.value.host === host).map((p) => p.value.phase);
  }

  stepMessages(host?: string): string[] {
    return this.d.steps.filter((s) => host === undefined || s.host === host).map((s) => s.message);
  }

  // ---- the loop ----

  private deliverDue(): void {
    const due = this.inFlight.filter((f) => f.due <= this.now);
    this.inFlight = this.inFlight.filter((f) => f.due > this.now);
    for (const f of due) {
      this.busy.delete(f.key);
      if (f.event.kind === 'switched') this.switchedAt.set(f.event.host, this.now);
      this.event(f.event);
    }
  }

  private advanceNow(): DeployAction[] {
    const prev = this.d;
    const wasEnded = prev.endedMs > 0;
    const { deployment, actions } = advance(deepFreeze(prev), this.now, new Set(this.busy));
    if (wasEnded && (actions.length > 0 || deployment !== prev)) throw new Error('advance changed an ended deployment');
    this.d = deployment;
    this.record();
    const started = new Set<string>();
    for (const a of actions) {
      this.actions.push({ at: this.now, value: a });
      if (a.kind === 'finish') {
        if (this.actionsOf('finish').length > 1) throw new Error('a second finish');
        if (actions.length > 1) throw new Error(`finish with other actions: ${actions.map((x) => x.kind).join(', ')}`);
        if (this.busy.size > 0) throw new Error(`finish with calls in flight: ${[...this.busy].join(', ')}`);
        if (a.state !== deployment.state) throw new Error(`finish ${a.state} but the deployment is ${deployment.state}`);
        continue;
      }
      const key = a.kind === 'release-command' ? '' : a.host;
      if (this.busy.has(key) || started.has(key)) throw new Error(`${a.kind} asked of ${key || 'the release command'} while a call is in flight`);
      if (a.kind === 'switch') {
        const unprepared = deployment.hosts.filter((h) => h.phase === HostPhase.HOST_PHASE_WAITING || h.phase === HostPhase.HOST_PHASE_PREPARING);
        if (unprepared.length > 0) throw new Error(`switch of ${a.host} before ${unprepared.map((h) => h.name).join(', ')} prepared`);
        if (deployment.releaseCommandState !== '' && deployment.releaseCommandState !== 'done') throw new Error(`switch of ${a.host} with the release command ${deployment.releaseCommandState}`);
      }
      if (a.kind === 'rollback' && deployment.state !== DeploymentState.DEPLOYMENT_STATE_ROLLING_BACK) throw new Error(`rollback while ${deployment.state}`);
      started.add(key);
      this.start(a, key);
    }
    return actions;
  }

  private start(a: Exclude<DeployAction, { kind: 'finish' }>, key: string): void {
    const s = this.script[a.host] ?? {};
    let ms = this.latency[a.kind];
    let event: DeployEvent;
    switch (a.kind) {
      case 'prepare':
        ms = s.prepareMs ?? ms;
        event =
          s.prepare === 'fail'
            ? { kind: 'prepare-failed', host: a.host, error: 'disk full' }
            : s.prepare === 'lost'
              ? { kind: 'host-lost', host: a.host, error: `${a.host} disconnected` }
              : { kind: 'prepared', host: a.host, runningVersion: s.runningVersion ?? 1, downloaded: true };
        break;
      case 'release-command':
        event = s.releaseCommand === 'fail' ? { kind: 'release-command-failed', host: a.host, error: 'exit code 1' } : { kind: 'release-command-done', host: a.host };
        break;
      case 'switch':
        this.checks.set(a.host, 0);
        event =
          s.switch === 'fail'
            ? { kind: 'switch-failed', host: a.host, error: 'reload failed: port in use' }
            : s.switch === 'lost'
              ? { kind: 'host-lost', host: a.host, error: `${a.host} disconnected` }
              : { kind: 'switched', host: a.host, restarts: s.restarts ?? 0, message: `reloaded onto v${this.d.version}` };
        break;
      case 'check': {
        const n = this.checks.get(a.host) ?? 0;
        this.checks.set(a.host, n + 1);
        const answer = s.health ? s.health(n, this.now - (this.switchedAt.get(a.host) ?? this.now)) : { healthy: true };
        event =
          answer === 'lost'
            ? { kind: 'host-lost', host: a.host, error: `${a.host} disconnected` }
            : { kind: 'health', host: a.host, healthy: answer.healthy, problem: answer.problem ?? '', fatal: answer.fatal ?? false, restarts: answer.restarts ?? s.restarts ?? 0 };
        break;
      }
      case 'rollback':
        event =
          s.rollback === 'fail'
            ? { kind: 'rollback-failed', host: a.host, error: 'previous release missing' }
            : s.rollback === 'lost'
              ? { kind: 'host-lost', host: a.host, error: `${a.host} disconnected` }
              : { kind: 'rolled-back', host: a.host };
        break;
    }
    this.busy.add(key);
    this.inFlight.push({ due: this.now + ms, key, event });
  }

  private record(): void {
    const last = this.states.at(-1);
    if (!last || last.value !== this.d.state) this.states.push({ at: this.now, value: this.d.state });
    for (const h of this.d.hosts) {
      if (this.lastPhase.get(h.name) === h.phase) continue;
      this.lastPhase.set(h.name, h.phase);
      this.phases.push({ at: this.now, value: { host: h.name, phase: h.phase } });
    }
  }
}

/** Frozen all the way down: a planner that writes to its input throws (strict mode). */
export function deepFreeze<T>(v: T): T {
  if (v && typeof v === 'object' && !Object.isFrozen(v)) {
    Object.freeze(v);
    for (const x of Object.values(v)) deepFreeze(x);
  }
  return v;
}
