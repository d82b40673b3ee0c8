// Drives deployments: asks the planner what to do next, makes those calls on
// the hosts, folds the answers back in, and persists every step. One loop per
// deployment; the planner decides, this file only does I/O. A controller that
// restarts resumes every unfinished deployment from its last persisted step.
import {
  asFleetError,
  type Deployment,
  DeploymentState,
  type DeployStep,
  HostStatus,
  hostStatusWord,
  type HostMethod,
  type HostRequest,
  type HostResponse,
  type Release,
  ReleaseState,
  type RolloutStrategy,
  UnavailableError,
  withDefaults,
} from '@fleet/protocol';
import type { HostRegistry } from '../host-registry';
import type { ReleaseBook } from './release-book';
import { advance, apply, type DeployAction, type DeployEvent, stateWord } from './rollout-plan';

export interface DriverOptions {
  book: ReleaseBook;
  registry: HostRegistry;
  log: (msg: string) => void;
  now?: () => number;
  /** Between two health checks of one host. */
  checkIntervalMs?: number;
  /** The loop's heartbeat: deadlines are noticed within it. */
  tickMs?: number;
  /** After a controller restart, hosts get this long to reconnect before they count as lost. */
  resumeGraceMs?: number;
  /** A host to roll back that is unreachable gets this long to come back. */
  rollbackGraceMs?: number;
  /** Ended: the artifacts no recent release needs can go. */
  onFinished?: (d: Deployment) => void;
  /**
   * A deployment gained steps or changed state (after it is saved): `newSteps`
   * are the steps since the last call for it (none when only the state changed).
   * Called synchronously from the loop: it must return at once and never throw
   * (a throw is logged). A resumed deployment's earlier steps are not told again.
   */
  onChange?: (d: Deployment, newSteps: DeployStep[]) => void;
}

/** What was last told to onChange about a deployment. */
export interface Told {
  steps: number;
  state: DeploymentState;
}

/**
 * The steps of `d` not yet told (steps are only ever appended), or undefined
 * when there is nothing to tell: no new step and the same state.
 */
export function untold(d: Deployment, told: Told | undefined): DeployStep[] | undefined {
  const from = Math.min(told?.steps ?? 0, d.steps.length);
  if (told && from === d.steps.length && told.state === d.state) return undefined;
  return d.steps.slice(from);
}

/** Beyond a call's own limits (install + build, a release command), for the round trip. */
const CALL_MARGIN_MS = 60_000;

/** Preparing a release takes what it took the first time: its own install, build and limits. */
function prepareStrategy(release: Release, deployment: RolloutStrategy): RolloutStrategy {
  return release.strategy ? withDefaults(release.strategy) : deployment;
}

function prepareTimeout(s: RolloutStrategy): number {
  return 2 * s.commandTimeoutMs + CALL_MARGIN_MS;
}

type Listener = (d: Deployment) => void;

interface Run {
  dep: Deployment;
  saved: string;
  busy: Set<string>;
  wake: () => void;
  graceUntil: number;
  /** When each host was last checked: checks are spaced by checkIntervalMs. */
  lastCheck: Map<string, number>;
  /** What onChange was last told. */
  told?: Told;
}

export class DeployDriver {
  private readonly runs = new Map<string, Run>();
  private readonly listeners = new Map<string, Set<Listener>>();
  private readonly now: () => number;
  private stopped = false;

  constructor(private readonly opts: DriverOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** After a start: every deployment the last controller left unfinished goes on. */
  resumeAll(): void {
    for (const d of this.opts.book.unfinished()) {
      this.opts.log(`resuming deployment ${d.id} of ${d.app} v${d.version} (${stateWord(d.state)})`);
      this.begin(apply(d, { kind: 'restarted' }, this.now()), this.opts.resumeGraceMs ?? 20_000, { steps: d.steps.length, state: d.state });
    }
  }

  start(d: Deployment): void {
    this.begin(d, 0);
  }

  current(id: string): Deployment | undefined {
    return this.runs.get(id)?.dep ?? this.opts.book.deployment(id);
  }

  /** pause, resume, cancel, promote: folded in at once, acted on by the loop. */
  control(id: string, action: 'pause' | 'resume' | 'cancel' | 'promote', by: string): Deployment {
    const run = this.runs.get(id);
    if (!run) throw new Error(`deployment ${id} is not running`);
    this.update(run, apply(run.dep, { kind: 'control', action, by }, this.now()));
    run.wake();
    return run.dep;
  }

  /** Calls `fn` with every change of the deployment until it ends; returns the unsubscribe. */
  watch(id: string, fn: Listener): () => void {
    const set = this.listeners.get(id) ?? new Set<Listener>();
    set.add(fn);
    this.listeners.set(id, set);
    return () => {
      set.delete(fn);
      if (set.size === 0) this.listeners.delete(id);
    };
  }

  isRunning(id: string): boolean {
    return this.runs.has(id);
  }

  stop(): void {
    this.stopped = true;
    for (const run of this.runs.values()) run.wake();
  }

  // ---- the loop ---------------------------------------------------------------

  /** `told`: a resumed deployment's steps, told by the controller that ran it before. */
  private begin(d: Deployment, graceMs: number, told?: Told): void {
    const run: Run = { dep: d, saved: '', busy: new Set(), wake: () => undefined, graceUntil: this.now() + graceMs, lastCheck: new Map(), told };
    this.runs.set(d.id, run);
    this.update(run, d);
    void this.loop(run).catch((err: Error) => this.opts.log(`deployment ${d.id} stopped on an internal error: ${err.stack ?? err.message}`));
  }

  private async loop(run: Run): Promise<void> {
    const tickMs = this.opts.tickMs ?? 200;
    while (!this.stopped) {
      const { deployment, actions, wakeAt } = advance(run.dep, this.now(), run.busy);
      this.update(run, deployment);
      for (const action of actions) {
        if (action.kind === 'finish') return this.finish(run);
        this.launch(run, action);
      }
      await new Promise<void>((resolve) => {
        // Wake exactly when a host turns stable, not up to a tick later.
        const wait = wakeAt === undefined ? tickMs : Math.max(0, Math.min(tickMs, wakeAt - this.now()));
        const timer = setTimeout(resolve, wait);
        run.wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  }

  private launch(run: Run, action: Exclude<DeployAction, { kind: 'finish' }>): void {
    const key = action.kind === 'release-command' ? '' : action.host;
    run.busy.add(key);
    this.perform(run, action)
      .catch((err: Error): DeployEvent | undefined => {
        this.opts.log(`deployment ${run.dep.id}: ${action.kind} on ${key || 'the controller'} failed unexpectedly: ${err.message}`);
        if (action.kind === 'check') return undefined;
        if (action.kind === 'release-command') return { kind: 'release-command-failed', host: action.host, error: err.message };
        return { kind: 'host-lost', host: key, error: err.message };
      })
      .then((event) => {
        run.busy.delete(key);
        // A deployment that ended meanwhile (a late check of a healthy host) is not written again.
        if (event && !this.stopped && this.runs.get(run.dep.id) === run) this.update(run, apply(run.dep, event, this.now()));
        run.wake();
      });
  }

  private async perform(run: Run, action: Exclude<DeployAction, { kind: 'finish' }>): Promise<DeployEvent | undefined> {
    const d = run.dep;
    const s = withDefaults(d.strategy);
    const release = this.release(d.app, d.version);
    switch (action.kind) {
      case 'prepare':
        return this.onHost(run, action.host, 'prepareRelease', { release, strategy: prepareStrategy(release, s) }, { timeoutMs: prepareTimeout(prepareStrategy(release, s)) }).then(
          (res) => ({ kind: 'prepared', host: action.host, runningVersion: res.runningVersion, downloaded: res.downloaded }),
          (err) => this.lostOr(action.host, err, (error) => ({ kind: 'prepare-failed', host: action.host, error })),
        );
      case 'release-command':
        return this.onHost(run, action.host, 'releaseCommand', { app: d.app, version: d.version, command: s.releaseCommand, timeoutMs: s.commandTimeoutMs }, { timeoutMs: s.commandTimeoutMs + CALL_MARGIN_MS }).then(
          (res): DeployEvent =>
            res.exitCode === 0
              ? { kind: 'release-command-done', host: action.host }
              : { kind: 'release-command-failed', host: action.host, error: `exit code ${res.exitCode}${res.output ? `: ${lastLines(res.output)}` : ''}` },
          (err: unknown): DeployEvent => ({ kind: 'release-command-failed', host: action.host, error: message(err) }),
        );
      case 'switch':
        return this.onHost(run, action.host, 'activateRelease', { release, keepReleases: s.keepReleases, lastGood: this.lastGood(d.app) }).then(
          (res) => ({ kind: 'switched', host: action.host, restarts: res.restarts, message: res.message }),
          (err) => this.lostOr(action.host, err, (error) => ({ kind: 'switch-failed', host: action.host, error })),
        );
      case 'check': {
        // The first check right after the switch, then one per interval.
        const last = run.lastCheck.get(action.host) ?? 0;
        await sleep(Math.max(0, last + (this.opts.checkIntervalMs ?? 500) - this.now()));
        if (this.stopped) return undefined;
        run.lastCheck.set(action.host, this.now());
        return this.onHost(run, action.host, 'releaseHealth', { app: d.app, version: d.version, healthUrl: s.healthUrl, timeoutMs: 2000 }).then(
          (res): DeployEvent => ({ kind: 'health', host: action.host, healthy: res.problem === '', problem: res.problem, fatal: res.fatal, restarts: res.restarts }),
          (err) => this.lostOr(action.host, err, (problem) => ({ kind: 'health', host: action.host, healthy: false, problem, fatal: false, restarts: -1 })),
        );
      }
      case 'rollback': {
        const back: Release = action.version > 0 ? this.release(d.app, action.version) : emptyRelease(d.app);
        // A host that just dropped off gets a while to come back: its apps outlived its agent,
        // and leaving them on a failed release is worse than waiting.
        const retry = { graceUntil: this.now() + (this.opts.rollbackGraceMs ?? 30_000) };
        return (async (): Promise<DeployEvent> => {
          if (back.version > 0) {
            // Normally still on the host (instant); if it was pruned, fetched and prepared as it was the first time.
            const ps = prepareStrategy(back, s);
            await this.onHost(run, action.host, 'prepareRelease', { release: back, strategy: ps }, { timeoutMs: prepareTimeout(ps) }, retry);
          }
          await this.onHost(run, action.host, 'activateRelease', { release: back, keepReleases: s.keepReleases, lastGood: this.lastGood(d.app) }, {}, retry);
          return { kind: 'rolled-back', host: action.host };
        })().catch((err: unknown): DeployEvent => ({ kind: 'rollback-failed', host: action.host, error: message(err) }));
      }
    }
  }

  /** A host's link is gone: the host is lost (unless still within the resume grace, when the call is retried). */
  private async onHost<M extends HostMethod>(
    run: Run,
    host: string,
    method: M,
    req: HostRequest<M>,
    opts: { timeoutMs?: number } = {},
    retry: { graceUntil: number } = run,
  ): Promise<HostResponse<M>> {
    for (;;) {
      try {
        const entry = this.opts.registry.get(host);
        if (!entry) throw notSent(new UnavailableError(`${host} is no longer known to the controller`, { host }));
        if (!entry.link || entry.info.status !== HostStatus.HOST_STATUS_READY) {
          throw notSent(new UnavailableError(`${host} is ${hostStatusWord(entry.info.status)}${entry.info.problem ? ` (${entry.info.problem})` : ''}`, { host }));
        }
        return await entry.link.call(method, req, opts);
      } catch (err) {
        if (asFleetError(err)?.code !== 'UNAVAILABLE' || this.now() >= retry.graceUntil || this.stopped) throw err;
        await sleep(500);
      }
    }
  }

  private lostOr(host: string, err: unknown, otherwise: (error: string) => DeployEvent): DeployEvent {
    if (asFleetError(err)?.code === 'UNAVAILABLE') {
      return { kind: 'host-lost', host, error: `lost contact: ${stripHost(host, message(err))}`, unreached: (err as { notSent?: boolean }).notSent === true };
    }
    return otherwise(stripHost(host, message(err)));
  }

  private lastGood(app: string): number {
    return this.opts.book.lastGood(app)?.version ?? 0;
  }

  private release(app: string, version: number): Release {
    const r = this.opts.book.release(app, version);
    if (!r) throw new Error(`release v${version} of ${app} is not in the controller's record`);
    return r;
  }

  private update(run: Run, next: Deployment): void {
    run.dep = next;
    const json = JSON.stringify(next);
    if (json === run.saved) return;
    run.saved = json;
    this.opts.book.save(next);
    for (const fn of this.listeners.get(next.id) ?? []) fn(next);
    this.tell(run);
  }

  private tell(run: Run): void {
    const onChange = this.opts.onChange;
    if (!onChange) return;
    const d = run.dep;
    const steps = untold(d, run.told);
    if (!steps) return;
    run.told = { steps: d.steps.length, state: d.state };
    try {
      onChange(d, steps);
    } catch (err) {
      this.opts.log(`deployment ${d.id}: onChange failed: ${message(err)}`);
    }
  }

  private finish(run: Run): void {
    const d = run.dep;
    this.runs.delete(d.id);
    if (!d.rollback) {
      const state = d.state === DeploymentState.DEPLOYMENT_STATE_SUCCEEDED ? ReleaseState.RELEASE_STATE_GOOD : ReleaseState.RELEASE_STATE_FAILED;
      this.opts.book.setState(d.app, d.version, state);
    }
    this.opts.log(`deployment ${d.id} of ${d.app} v${d.version}: ${stateWord(d.state)}${d.reason ? ` (${d.reason})` : ''}`);
    for (const fn of this.listeners.get(d.id) ?? []) fn(d);
    this.listeners.delete(d.id);
    this.opts.onFinished?.(d);
  }

  /** A deployment left unfinished with no loop (its loop died): taken up again so it can be steered. */
  adopt(d: Deployment): void {
    if (this.runs.has(d.id) || d.endedMs > 0) return;
    this.begin(apply(d, { kind: 'restarted' }, this.now()), this.opts.resumeGraceMs ?? 20_000, { steps: d.steps.length, state: d.state });
  }
}

/** Marks an error raised before the call left the controller: the host did nothing. */
function notSent<E extends Error>(err: E): E {
  (err as E & { notSent: boolean }).notSent = true;
  return err;
}

function emptyRelease(app: string): Release {
  return { app, version: 0, digest: '', sizeBytes: 0, spec: undefined, createdMs: 0, createdBy: '', gitCommit: '', gitDirty: false, state: ReleaseState.RELEASE_STATE_UNSPECIFIED, deploymentId: '' };
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Host errors arrive as "web1: …"; the deployment report names the host itself. */
function stripHost(host: string, msg: string): string {
  return msg.startsWith(`${host}: `) ? msg.slice(host.length + 2) : msg;
}

function lastLines(output: string, n = 5): string {
  return output.trimEnd().split('\n').slice(-n).join(' | ');
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
