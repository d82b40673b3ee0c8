// The rollout planner: pure. `advance` takes a deployment, the time and which
// hosts have a call in flight, and returns the deployment after every rule that
// time alone decides (deadlines, stability, promotion, the end) plus the calls
// to make next. `apply` folds in what a call reported. The driver does the I/O
// and persists after each; nothing here reads a clock or a socket.
import {
  type Deployment,
  type DeployHost,
  DeploymentState,
  HostPhase,
  type RolloutStrategy,
  deploymentStateWord,
  hostPhaseWord,
  isFinalDeploymentState,
  withDefaults,
} from '@fleet/protocol';

export type DeployAction =
  | { kind: 'prepare'; host: string }
  | { kind: 'release-command'; host: string }
  | { kind: 'switch'; host: string }
  | { kind: 'check'; host: string }
  /** Back to host.previousVersion; 0 means the app was new there: stop it. */
  | { kind: 'rollback'; host: string; version: number }
  /** The deployment reached a final state (once). */
  | { kind: 'finish'; state: DeploymentState };

export type DeployEvent =
  | { kind: 'prepared'; host: string; runningVersion: number; downloaded: boolean }
  | { kind: 'prepare-failed'; host: string; error: string }
  | { kind: 'release-command-done'; host: string }
  | { kind: 'release-command-failed'; host: string; error: string }
  | { kind: 'switched'; host: string; restarts: number; message: string }
  | { kind: 'switch-failed'; host: string; error: string }
  | { kind: 'health'; host: string; healthy: boolean; problem: string; fatal: boolean; restarts: number }
  /** `unreached`: the call never left the controller (the host was already gone), so the host changed nothing. */
  | { kind: 'host-lost'; host: string; error: string; unreached?: boolean }
  | { kind: 'rolled-back'; host: string }
  | { kind: 'rollback-failed'; host: string; error: string }
  | { kind: 'control'; action: 'pause' | 'resume' | 'cancel' | 'promote'; by: string }
  /** The controller restarted: calls that were in flight are gone and are made again. */
  | { kind: 'restarted' };

export const isFinal = isFinalDeploymentState;

/** Hosts in rollout order, split into batches: the canaries alone first, then batch_size at a time. */
export function assignBatches(hosts: string[], strategy: RolloutStrategy | undefined): { name: string; batch: number; canary: boolean }[] {
  const s = withDefaults(strategy);
  const canaries = Math.min(s.canary, hosts.length);
  return hosts.map((name, i) => {
    if (i < canaries) return { name, batch: 0, canary: true };
    const offset = canaries > 0 ? 1 : 0;
    return { name, batch: offset + Math.floor((i - canaries) / s.batchSize), canary: false };
  });
}

export function newDeployment(init: {
  id: string;
  app: string;
  version: number;
  hosts: string[];
  strategy: RolloutStrategy | undefined;
  createdBy: string;
  rollback: boolean;
  now: number;
}): Deployment {
  const strategy = withDefaults(init.strategy);
  return {
    id: init.id,
    app: init.app,
    version: init.version,
    state: DeploymentState.DEPLOYMENT_STATE_RUNNING,
    hosts: assignBatches(init.hosts, strategy).map((h) => ({
      name: h.name,
      phase: HostPhase.HOST_PHASE_WAITING,
      phaseSinceMs: init.now,
      previousVersion: 0,
      batch: h.batch,
      canary: h.canary,
      healthySinceMs: 0,
      reason: '',
      health: '',
      switched: false,
      baselineRestarts: 0,
      hasBaseline: false,
    })),
    strategy,
    steps: [{ timeMs: init.now, host: '', message: `${init.rollback ? 'rollback' : 'deployment'} of ${init.app} v${init.version} to ${init.hosts.join(', ')} created by ${init.createdBy}` }],
    createdMs: init.now,
    updatedMs: init.now,
    endedMs: 0,
    reason: '',
    createdBy: init.createdBy,
    awaitingPromotion: false,
    releaseCommandState: strategy.releaseCommand ? 'pending' : '',
    rollback: init.rollback,
    promoted: false,
    heldSinceMs: 0,
    heldMs: 0,
  };
}

// ---- events -------------------------------------------------------------------

export function apply(prev: Deployment, event: DeployEvent, now: number): Deployment {
  const d = clone(prev);
  d.updatedMs = now;
  const host = 'host' in event ? d.hosts.find((h) => h.name === event.host) : undefined;
  const step = (message: string, on = host?.name ?? ''): void => void d.steps.push({ timeMs: now, host: on, message });
  const phase = (h: DeployHost, p: HostPhase, reason = ''): void => {
    h.phase = p;
    h.phaseSinceMs = now;
    h.reason = reason;
  };
  switch (event.kind) {
    case 'prepared':
      if (!host) break;
      host.previousVersion = event.runningVersion === d.version ? host.previousVersion : event.runningVersion;
      phase(host, HostPhase.HOST_PHASE_PREPARED);
      step(event.downloaded ? `v${d.version} downloaded and unpacked` : `v${d.version} already on the host`);
      break;
    case 'prepare-failed':
      if (!host) break;
      phase(host, HostPhase.HOST_PHASE_FAILED, event.error);
      step(`preparing v${d.version} failed: ${event.error}`);
      fail(d, `${host.name}: preparing v${d.version} failed: ${event.error}`, now);
      break;
    case 'release-command-done':
      d.releaseCommandState = 'done';
      step('release command succeeded');
      break;
    case 'release-command-failed':
      d.releaseCommandState = 'failed';
      step(`release command failed: ${event.error}`);
      fail(d, `release command failed on ${event.host}: ${event.error}`, now);
      break;
    case 'switched':
      if (!host) break;
      host.baselineRestarts = event.restarts;
      host.hasBaseline = true;
      host.healthySinceMs = 0;
      phase(host, HostPhase.HOST_PHASE_VERIFYING);
      step(`switched to v${d.version}: ${event.message}`);
      break;
    case 'switch-failed':
      if (!host) break;
      phase(host, HostPhase.HOST_PHASE_FAILED, event.error);
      step(`switch to v${d.version} failed: ${event.error}`);
      fail(d, `${host.name}: ${event.error}`, now);
      break;
    case 'health': {
      if (!host || host.phase !== HostPhase.HOST_PHASE_VERIFYING) break;
      const crashed = host.hasBaseline && event.restarts > host.baselineRestarts;
      if (event.fatal || crashed) {
        const why = event.fatal ? event.problem : `an instance crashed after the switch (restarts ${host.baselineRestarts} -> ${event.restarts})${event.problem ? `: ${event.problem}` : ''}`;
        host.health = why;
        phase(host, HostPhase.HOST_PHASE_FAILED, why);
        step(`unhealthy: ${why}`);
        fail(d, `${host.name}: ${why}`, now);
        break;
      }
      host.health = event.healthy ? 'healthy' : event.problem;
      if (!event.healthy) host.healthySinceMs = 0;
      else if (host.healthySinceMs === 0) host.healthySinceMs = now;
      break;
    }
    case 'host-lost':
      if (!host) break;
      if (isSettled(host)) break;
      if (host.phase === HostPhase.HOST_PHASE_ROLLING_BACK) {
        // Its rollback was lost: as a failed rollback (asking again would loop, with no deadline while rolling back).
        phase(host, HostPhase.HOST_PHASE_FAILED, `rollback failed: ${event.error}`);
        host.switched = false;
        step(host.reason);
        d.reason = `${d.reason}; ${host.name}: rollback failed: ${event.error}`;
        break;
      }
      // A switch that never reached the host left it on its previous release: nothing to roll back there.
      if (event.unreached && host.phase === HostPhase.HOST_PHASE_SWITCHING) host.switched = false;
      phase(host, HostPhase.HOST_PHASE_FAILED, event.error);
      step(event.error);
      fail(d, `${host.name}: ${event.error}`, now);
      break;
    case 'rolled-back':
      if (!host) break;
      phase(host, HostPhase.HOST_PHASE_ROLLED_BACK, host.previousVersion ? `back on v${host.previousVersion}` : 'stopped: the app was new on this host');
      step(host.reason);
      break;
    case 'rollback-failed':
      if (!host) break;
      phase(host, HostPhase.HOST_PHASE_FAILED, `rollback failed: ${event.error}`);
      host.switched = false; // nothing more to try on it; the report names it
      step(host.reason);
      d.reason = `${d.reason}; ${host.name}: rollback failed: ${event.error}`;
      break;
    case 'control':
      control(d, event.action, event.by, now);
      holdClock(d, now);
      break;
    case 'restarted':
      step('controller restarted: resuming');
      for (const h of d.hosts) {
        // Calls in flight died with the old controller: make them again (each is idempotent on the host).
        if (h.phase === HostPhase.HOST_PHASE_PREPARING) phase(h, HostPhase.HOST_PHASE_WAITING);
        if (h.phase === HostPhase.HOST_PHASE_SWITCHING) phase(h, HostPhase.HOST_PHASE_PREPARED);
        if (h.phase === HostPhase.HOST_PHASE_VERIFYING) h.healthySinceMs = 0;
        if (h.phase === HostPhase.HOST_PHASE_ROLLING_BACK) h.phase = HostPhase.HOST_PHASE_FAILED;
      }
      if (d.releaseCommandState === 'running') d.releaseCommandState = 'pending';
      break;
  }
  return d;
}

/** Why a control cannot act on the deployment now, or undefined when it can. */
export function controlProblem(d: Deployment, action: 'pause' | 'resume' | 'cancel' | 'promote'): string | undefined {
  if (d.state !== DeploymentState.DEPLOYMENT_STATE_RUNNING && d.state !== DeploymentState.DEPLOYMENT_STATE_PAUSED) {
    return `deployment ${d.id} of ${d.app} is ${deploymentStateWord(d.state)}: only a running or paused deployment can be steered`;
  }
  if (action === 'pause' && d.state === DeploymentState.DEPLOYMENT_STATE_PAUSED) return `deployment ${d.id} is already paused`;
  if (action === 'resume' && d.state !== DeploymentState.DEPLOYMENT_STATE_PAUSED) return `deployment ${d.id} is not paused`;
  if (action === 'promote' && !d.hosts.some((h) => h.canary)) return `deployment ${d.id} has no canaries to promote`;
  if (action === 'promote' && d.promoted) return `the canaries of deployment ${d.id} were already promoted`;
  return undefined;
}

/** Paused or waiting for a promote: the progress deadline's clock stops. */
function holdClock(d: Deployment, now: number): void {
  const held = d.state === DeploymentState.DEPLOYMENT_STATE_PAUSED || d.awaitingPromotion;
  if (held && d.heldSinceMs === 0) d.heldSinceMs = now;
  if (!held && d.heldSinceMs > 0) {
    d.heldMs += now - d.heldSinceMs;
    d.heldSinceMs = 0;
  }
}

function control(d: Deployment, action: 'pause' | 'resume' | 'cancel' | 'promote', by: string, now: number): void {
  const step = (message: string): void => void d.steps.push({ timeMs: now, host: '', message });
  // Only a rollout in progress is steered: a resume must not restart one that is rolling back or has ended.
  if (d.state !== DeploymentState.DEPLOYMENT_STATE_RUNNING && d.state !== DeploymentState.DEPLOYMENT_STATE_PAUSED) return;
  switch (action) {
    case 'pause':
      d.state = DeploymentState.DEPLOYMENT_STATE_PAUSED;
      step(`paused by ${by}`);
      break;
    case 'resume':
      d.state = DeploymentState.DEPLOYMENT_STATE_RUNNING;
      step(`resumed by ${by}`);
      break;
    case 'promote':
      d.promoted = true;
      d.awaitingPromotion = false;
      step(`canaries promoted by ${by}`);
      break;
    case 'cancel':
      step(`cancelled by ${by}`);
      fail(d, `cancelled by ${by}`, now, true);
      break;
  }
}

/** Stops the rollout: switched hosts go back (unless auto rollback is off). */
function fail(d: Deployment, reason: string, now: number, cancelled = false): void {
  if (d.state === DeploymentState.DEPLOYMENT_STATE_ROLLING_BACK || isFinal(d.state)) return;
  d.reason = reason;
  d.awaitingPromotion = false;
  const rollback = !d.strategy?.noAutoRollback && d.hosts.some((h) => h.switched);
  d.state = rollback ? DeploymentState.DEPLOYMENT_STATE_ROLLING_BACK : cancelled ? DeploymentState.DEPLOYMENT_STATE_CANCELLED : DeploymentState.DEPLOYMENT_STATE_FAILED;
  // A final state is only announced once the calls in flight return (advance ends it).
  d.steps.push({ timeMs: now, host: '', message: rollback ? `stopping: ${reason}; rolling back the switched hosts` : `stopped: ${reason}` });
}

function wasCancelled(d: Deployment): boolean {
  return d.reason.startsWith('cancelled by');
}

function isSettled(h: DeployHost): boolean {
  return (
    h.phase === HostPhase.HOST_PHASE_HEALTHY ||
    h.phase === HostPhase.HOST_PHASE_FAILED ||
    h.phase === HostPhase.HOST_PHASE_ROLLED_BACK ||
    h.phase === HostPhase.HOST_PHASE_SKIPPED
  );
}

// ---- time and next calls -------------------------------------------------------

export interface Advance {
  deployment: Deployment;
  actions: DeployAction[];
  /** When time alone will next change something (a host becoming stable), if sooner than a tick. */
  wakeAt?: number;
}

/**
 * `busy` names the hosts with a call in flight (and '' for the release command):
 * nothing new is asked of them until it returns.
 */
export function advance(prev: Deployment, now: number, busy: ReadonlySet<string>): Advance {
  if (prev.endedMs > 0) return { deployment: prev, actions: [] };
  const d = clone(prev);
  const s = withDefaults(d.strategy);
  const actions: DeployAction[] = [];
  const step = (message: string, host = ''): void => void d.steps.push({ timeMs: now, host, message });
  const setPhase = (h: DeployHost, p: HostPhase, reason = ''): void => {
    h.phase = p;
    h.phaseSinceMs = now;
    h.reason = reason;
  };
  const live = d.state === DeploymentState.DEPLOYMENT_STATE_RUNNING || d.state === DeploymentState.DEPLOYMENT_STATE_PAUSED;

  if (live) {
    // Deadlines.
    const held = d.heldMs + (d.heldSinceMs > 0 ? now - d.heldSinceMs : 0);
    if (now - d.createdMs - held > s.progressDeadlineMs) {
      fail(d, `the deployment did not finish within progress_deadline (${seconds(s.progressDeadlineMs)})`, now);
    }
    for (const h of d.hosts) {
      if (!live || isFinal(d.state) || d.state === DeploymentState.DEPLOYMENT_STATE_ROLLING_BACK) break;
      if (h.phase !== HostPhase.HOST_PHASE_VERIFYING && h.phase !== HostPhase.HOST_PHASE_SWITCHING) continue;
      if (now - h.phaseSinceMs > s.healthyDeadlineMs && !busy.has(h.name)) {
        const why = `not healthy within healthy_deadline (${seconds(s.healthyDeadlineMs)})${h.health && h.health !== 'healthy' ? `: ${h.health}` : ''}`;
        setPhase(h, HostPhase.HOST_PHASE_FAILED, why);
        step(why, h.name);
        fail(d, `${h.name}: ${why}`, now);
      }
    }
    // Stability.
    for (const h of d.hosts) {
      if (h.phase === HostPhase.HOST_PHASE_VERIFYING && h.healthySinceMs > 0 && now - h.healthySinceMs >= s.minHealthyMs) {
        setPhase(h, HostPhase.HOST_PHASE_HEALTHY);
        step(`healthy on v${d.version}`, h.name);
      }
    }
  }

  if (d.state === DeploymentState.DEPLOYMENT_STATE_RUNNING || d.state === DeploymentState.DEPLOYMENT_STATE_PAUSED) {
    const running = d.state === DeploymentState.DEPLOYMENT_STATE_RUNNING;
    // Health is watched while paused too: a bad host still fails the deployment.
    for (const h of d.hosts) if (h.phase === HostPhase.HOST_PHASE_VERIFYING && !busy.has(h.name)) actions.push({ kind: 'check', host: h.name });
    if (running) {
      // Every host fetches and unpacks first, in parallel: a download that fails switches nothing.
      for (const h of d.hosts) {
        if (h.phase === HostPhase.HOST_PHASE_WAITING && !busy.has(h.name)) {
          setPhase(h, HostPhase.HOST_PHASE_PREPARING);
          actions.push({ kind: 'prepare', host: h.name });
        }
      }
      const allPrepared = d.hosts.every((h) => h.phase !== HostPhase.HOST_PHASE_WAITING && h.phase !== HostPhase.HOST_PHASE_PREPARING);
      if (allPrepared && d.releaseCommandState === 'pending' && !busy.has('')) {
        d.releaseCommandState = 'running';
        step(`running the release command on ${d.hosts[0].name}: ${s.releaseCommand}`, d.hosts[0].name);
        actions.push({ kind: 'release-command', host: d.hosts[0].name });
      }
      const commandDone = d.releaseCommandState === '' || d.releaseCommandState === 'done';
      if (allPrepared && commandDone) actions.push(...switchNextBatch(d, now, busy, step));
    }
    if (d.hosts.every((h) => h.phase === HostPhase.HOST_PHASE_HEALTHY)) {
      d.state = DeploymentState.DEPLOYMENT_STATE_SUCCEEDED;
      step(`v${d.version} is healthy on every host`);
    }
  }

  if (d.state === DeploymentState.DEPLOYMENT_STATE_ROLLING_BACK) {
    for (const h of d.hosts) {
      if (!h.switched || busy.has(h.name)) continue;
      if (h.phase === HostPhase.HOST_PHASE_ROLLING_BACK || h.phase === HostPhase.HOST_PHASE_ROLLED_BACK) continue;
      setPhase(h, HostPhase.HOST_PHASE_ROLLING_BACK, h.reason);
      step(h.previousVersion ? `rolling back to v${h.previousVersion}` : 'stopping the app (it was new on this host)', h.name);
      actions.push({ kind: 'rollback', host: h.name, version: h.previousVersion });
    }
    const pending = d.hosts.some((h) => busy.has(h.name) || h.phase === HostPhase.HOST_PHASE_ROLLING_BACK);
    if (!pending) {
      const incomplete = d.hosts.some((h) => h.reason.startsWith('rollback failed'));
      const cancelled = wasCancelled(d);
      d.state = incomplete ? DeploymentState.DEPLOYMENT_STATE_FAILED : cancelled ? DeploymentState.DEPLOYMENT_STATE_CANCELLED : DeploymentState.DEPLOYMENT_STATE_ROLLED_BACK;
      step(incomplete ? 'rollback incomplete: see the hosts above' : 'every switched host is back on its previous release');
    }
  }

  // A call in flight holds the end, but for a health check of a host already healthy: its answer changes nothing.
  const holding = [...busy].some((b) => b === '' || d.hosts.some((h) => h.name === b && h.phase !== HostPhase.HOST_PHASE_HEALTHY));
  if (isFinal(d.state) && d.endedMs === 0 && !holding) {
    for (const h of d.hosts) {
      if (isSettled(h)) continue;
      // A host switched but not proven healthy (auto rollback off) was not skipped: say where it was left.
      if (h.switched) setPhase(h, HostPhase.HOST_PHASE_FAILED, `left on v${d.version}, not verified healthy (auto rollback is off)`);
      else setPhase(h, HostPhase.HOST_PHASE_SKIPPED, h.phase === HostPhase.HOST_PHASE_PREPARED || h.phase === HostPhase.HOST_PHASE_WAITING ? 'not switched' : h.reason);
    }
    d.endedMs = now;
    d.updatedMs = now;
    step(`deployment ${stateWord(d.state)}${d.reason ? `: ${d.reason}` : ''}`);
    actions.push({ kind: 'finish', state: d.state });
  }
  holdClock(d, now);
  const stableAt = d.hosts
    .filter((h) => h.phase === HostPhase.HOST_PHASE_VERIFYING && h.healthySinceMs > 0)
    .map((h) => h.healthySinceMs + s.minHealthyMs);
  return { deployment: d, actions, wakeAt: stableAt.length > 0 && d.endedMs === 0 ? Math.min(...stableAt) : undefined };
}

/** Switches the first batch with a host not yet healthy, once every earlier batch is. */
function switchNextBatch(d: Deployment, now: number, busy: ReadonlySet<string>, step: (m: string, h?: string) => void): DeployAction[] {
  const open = d.hosts.filter((h) => h.phase !== HostPhase.HOST_PHASE_HEALTHY);
  if (open.length === 0) return [];
  const batch = Math.min(...open.map((h) => h.batch));
  const canaryBatch = d.hosts.some((h) => h.canary) ? 0 : -1;
  if (batch > canaryBatch && canaryBatch === 0 && !d.promoted) {
    // The canaries are healthy: promote by hand, or by itself when asked to.
    if (withDefaults(d.strategy).autoPromote) {
      d.promoted = true;
      step('canaries healthy: promoted automatically');
    } else {
      if (!d.awaitingPromotion) step(`canaries healthy: waiting for \`fleet deploy promote ${d.id}\``);
      d.awaitingPromotion = true;
      return [];
    }
  }
  const actions: DeployAction[] = [];
  for (const h of d.hosts) {
    if (h.batch !== batch || h.phase !== HostPhase.HOST_PHASE_PREPARED || busy.has(h.name)) continue;
    h.phase = HostPhase.HOST_PHASE_SWITCHING;
    h.phaseSinceMs = now;
    h.switched = true;
    h.hasBaseline = false;
    step(`switching to v${d.version}${h.canary ? ' (canary)' : ''}`, h.name);
    actions.push({ kind: 'switch', host: h.name });
  }
  return actions;
}

export const stateWord = deploymentStateWord;
export const phaseWord = hostPhaseWord;

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}

function clone(d: Deployment): Deployment {
  return structuredClone(d);
}
