import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { DeploymentState, HostPhase, type Deployment, type RolloutStrategy } from '@fleet/protocol';
import { advance, apply, assignBatches, controlProblem, isFinal, newDeployment, stateWord, type DeployAction, type DeployEvent } from '../../src/deploy/rollout-plan';
import { deepFreeze, Sim, T0 } from './simulate';

const S = {
  RUNNING: DeploymentState.DEPLOYMENT_STATE_RUNNING,
  PAUSED: DeploymentState.DEPLOYMENT_STATE_PAUSED,
  SUCCEEDED: DeploymentState.DEPLOYMENT_STATE_SUCCEEDED,
  FAILED: DeploymentState.DEPLOYMENT_STATE_FAILED,
  ROLLING_BACK: DeploymentState.DEPLOYMENT_STATE_ROLLING_BACK,
  ROLLED_BACK: DeploymentState.DEPLOYMENT_STATE_ROLLED_BACK,
  CANCELLED: DeploymentState.DEPLOYMENT_STATE_CANCELLED,
};
const P = {
  WAITING: HostPhase.HOST_PHASE_WAITING,
  PREPARING: HostPhase.HOST_PHASE_PREPARING,
  PREPARED: HostPhase.HOST_PHASE_PREPARED,
  SWITCHING: HostPhase.HOST_PHASE_SWITCHING,
  VERIFYING: HostPhase.HOST_PHASE_VERIFYING,
  HEALTHY: HostPhase.HOST_PHASE_HEALTHY,
  FAILED: HostPhase.HOST_PHASE_FAILED,
  ROLLING_BACK: HostPhase.HOST_PHASE_ROLLING_BACK,
  ROLLED_BACK: HostPhase.HOST_PHASE_ROLLED_BACK,
  SKIPPED: HostPhase.HOST_PHASE_SKIPPED,
};
const H3 = ['h1', 'h2', 'h3'];
const H5 = ['h1', 'h2', 'h3', 'h4', 'h5'];
const NONE: ReadonlySet<string> = new Set();

function phases(d: Deployment): Record<string, HostPhase> {
  return Object.fromEntries(d.hosts.map((h) => [h.name, h.phase]));
}

function mk(hosts: string[], strategy: Partial<RolloutStrategy> = {}): Deployment {
  return newDeployment({ id: 'dep-1', app: 'web', version: 2, hosts, strategy: strategy as RolloutStrategy, createdBy: 'alice', rollback: false, now: T0 });
}

/** Folds events in at `now`, in order. */
function fold(d: Deployment, now: number, ...events: DeployEvent[]): Deployment {
  for (const e of events) d = apply(d, e, now);
  return d;
}

function prepared(host: string, runningVersion = 1): DeployEvent {
  return { kind: 'prepared', host, runningVersion, downloaded: true };
}

function switched(host: string, restarts = 0): DeployEvent {
  return { kind: 'switched', host, restarts, message: 'reloaded onto v2' };
}

function healthy(host: string, restarts = 0): DeployEvent {
  return { kind: 'health', host, healthy: true, problem: '', fatal: false, restarts };
}

function hostsOf(actions: DeployAction[], kind: DeployAction['kind']): string[] {
  return actions.flatMap((a) => (a.kind === kind && 'host' in a ? [a.host] : []));
}

// ---- shapes ------------------------------------------------------------------------

test('assignBatches: canaries alone in batch 0, then batch_size at a time; defaults fill in', () => {
  assert.deepEqual(
    assignBatches(H5, { batchSize: 2 } as RolloutStrategy).map((h) => [h.batch, h.canary]),
    [[0, false], [0, false], [1, false], [1, false], [2, false]],
  );
  assert.deepEqual(
    assignBatches(H5, { batchSize: 2, canary: 1 } as RolloutStrategy).map((h) => [h.batch, h.canary]),
    [[0, true], [1, false], [1, false], [2, false], [2, false]],
  );
  assert.deepEqual(assignBatches(H3, undefined).map((h) => h.batch), [0, 1, 2], 'default batch_size 1');
  assert.deepEqual(assignBatches(H3, { canary: 9 } as RolloutStrategy).map((h) => [h.batch, h.canary]), [[0, true], [0, true], [0, true]]);
});

test('newDeployment: running, every host waiting in its batch, the strategy with defaults, one creation step', () => {
  const d = mk(H3, { batchSize: 2, releaseCommand: 'npm run migrate' });
  assert.equal(d.state, S.RUNNING);
  assert.deepEqual(phases(d), { h1: P.WAITING, h2: P.WAITING, h3: P.WAITING });
  assert.deepEqual(d.hosts.map((h) => h.batch), [0, 0, 1]);
  assert.equal(d.strategy?.minHealthyMs, 10_000);
  assert.equal(d.strategy?.healthyDeadlineMs, 300_000);
  assert.equal(d.releaseCommandState, 'pending');
  assert.equal(mk(H3).releaseCommandState, '');
  assert.equal(d.endedMs, 0);
  assert.deepEqual(d.steps, [{ timeMs: T0, host: '', message: 'deployment of web v2 to h1, h2, h3 created by alice' }]);
});

test('stateWord / isFinal', () => {
  assert.equal(stateWord(S.ROLLED_BACK), 'rolled-back');
  assert.equal(stateWord(S.ROLLING_BACK), 'rolling-back');
  assert.equal(stateWord(S.SUCCEEDED), 'succeeded');
  assert.deepEqual(
    Object.values(S).filter(isFinal),
    [S.SUCCEEDED, S.FAILED, S.ROLLED_BACK, S.CANCELLED],
  );
});

test('advance and apply are pure: a frozen input is not written to', () => {
  const d = deepFreeze(mk(H3));
  const r = advance(d, T0, NONE);
  assert.notEqual(r.deployment, d);
  assert.equal(d.hosts[0].phase, P.WAITING);
  assert.equal(r.deployment.hosts[0].phase, P.PREPARING);
  const after = apply(deepFreeze(r.deployment), prepared('h1'), T0 + 1);
  assert.equal(r.deployment.hosts[0].phase, P.PREPARING);
  assert.equal(after.hosts[0].phase, P.PREPARED);
});

// ---- batches ----------------------------------------------------------------------

test('batches: 5 hosts, batch 2 -> [h1,h2], [h3,h4], [h5], each only after the previous batch is stably healthy', () => {
  const minHealthyMs = 7_000;
  const sim = new Sim({ hosts: H5, strategy: { batchSize: 2, minHealthyMs } }).run();
  assert.equal(sim.d.state, S.SUCCEEDED);
  const batches = [['h1', 'h2'], ['h3', 'h4'], ['h5']];
  assert.deepEqual(sim.switchBatches(), batches);
  assert.deepEqual(Object.values(phases(sim.d)), H5.map(() => P.HEALTHY));
  for (const h of H5) assert.deepEqual(sim.phaseHistory(h), [P.WAITING, P.PREPARING, P.PREPARED, P.SWITCHING, P.VERIFYING, P.HEALTHY]);
  for (let b = 1; b < batches.length; b++) {
    const switchAt = Math.min(...sim.actionsOf('switch').filter((a) => batches[b].includes(a.value.host)).map((a) => a.at));
    for (const prev of batches[b - 1]) {
      const healthyAt = sim.phaseAt(prev, P.HEALTHY)!;
      const firstGood = sim.eventsOf('health').find((e) => e.value.host === prev && e.value.healthy)!.at;
      assert.ok(switchAt >= healthyAt, `batch ${b} switched at ${switchAt - T0} before ${prev} was healthy at ${healthyAt - T0}`);
      assert.ok(healthyAt - firstGood >= minHealthyMs, `${prev} counted healthy ${healthyAt - firstGood} ms after its first good check`);
      assert.ok(healthyAt - firstGood < minHealthyMs + 2 * sim.tickMs, `${prev} took too long to count as healthy`);
    }
  }
  assert.equal(sim.actionsOf('rollback').length, 0);
  assert.deepEqual(sim.actionsOf('finish').map((a) => a.value), [{ kind: 'finish', state: S.SUCCEEDED }]);
  assert.equal(sim.actions.at(-1)?.value.kind, 'finish');
  assert.ok(sim.stepMessages().includes('v2 is healthy on every host'));
  assert.equal(sim.d.steps.at(-1)?.message, 'deployment succeeded');
  assert.equal(sim.d.endedMs, sim.actionsOf('finish')[0].at);
});

test('a failed check restarts the min_healthy clock', () => {
  const minHealthyMs = 5_000;
  // Good, good, bad, then good: the bad one comes before min_healthy is reached.
  const sim = new Sim({
    hosts: ['h1', 'h2'],
    strategy: { minHealthyMs },
    script: { h1: { health: (n) => (n === 2 ? { healthy: false, problem: 'GET /health: 503' } : { healthy: true }) } },
  }).run();
  assert.equal(sim.d.state, S.SUCCEEDED);
  const h1Health = sim.eventsOf('health').filter((e) => e.value.host === 'h1');
  const bad = h1Health.findIndex((e) => !e.value.healthy);
  assert.equal(bad, 2);
  const goodAgain = h1Health[bad + 1].at;
  const healthyAt = sim.phaseAt('h1', P.HEALTHY)!;
  assert.ok(healthyAt - goodAgain >= minHealthyMs, `h1 healthy ${healthyAt - goodAgain} ms after the streak began`);
  assert.ok(sim.actionsOf('switch').find((a) => a.value.host === 'h2')!.at >= healthyAt);
});

// ---- prepare ------------------------------------------------------------------------

test('prepare: every host prepares in parallel first; no switch before the slowest is prepared', () => {
  const sim = new Sim({ hosts: H5, strategy: { batchSize: 2 }, script: { h4: { prepareMs: 12_000 } } });
  const first = sim.tick();
  assert.deepEqual(first, H5.map((host) => ({ kind: 'prepare', host })));
  assert.deepEqual(Object.values(phases(sim.d)), H5.map(() => P.PREPARING));
  sim.run();
  assert.equal(sim.d.state, S.SUCCEEDED);
  assert.equal(sim.actionsOf('prepare').length, 5, 'each host prepared once');
  const lastPrepared = Math.max(...sim.eventsOf('prepared').map((e) => e.at));
  assert.equal(lastPrepared, sim.eventsOf('prepared').find((e) => e.value.host === 'h4')!.at);
  assert.ok(lastPrepared >= T0 + 12_000);
  assert.ok(sim.actionsOf('switch')[0].at >= lastPrepared);
});

test('prepare failure: FAILED with nothing switched and nothing rolled back, once the other prepares return', () => {
  const sim = new Sim({ hosts: H5, strategy: { batchSize: 2 }, script: { h3: { prepare: 'fail' }, h5: { prepareMs: 10_000 } } }).run();
  assert.deepEqual(sim.states.map((s) => s.value), [S.RUNNING, S.FAILED]);
  assert.equal(sim.d.reason, 'h3: preparing v2 failed: disk full');
  assert.equal(sim.actionsOf('switch').length, 0);
  assert.equal(sim.actionsOf('rollback').length, 0);
  assert.ok(sim.d.hosts.every((h) => !h.switched));
  assert.equal(sim.host('h3').phase, P.FAILED);
  assert.equal(sim.host('h3').reason, 'disk full');
  for (const h of ['h1', 'h2', 'h4', 'h5']) {
    assert.equal(sim.host(h).phase, P.SKIPPED, h);
    assert.equal(sim.host(h).reason, 'not switched', h);
  }
  const finish = sim.actionsOf('finish');
  assert.deepEqual(finish.map((a) => a.value), [{ kind: 'finish', state: S.FAILED }]);
  assert.ok(finish[0].at >= sim.eventsOf('prepared').find((e) => e.value.host === 'h5')!.at, 'finish waited for the slow prepare');
  assert.equal(sim.d.steps.at(-1)?.message, 'deployment failed: h3: preparing v2 failed: disk full');
});

// ---- release command ------------------------------------------------------------------

test('release command: once, on the first host, after every prepare and before any switch', () => {
  const sim = new Sim({
    hosts: H3,
    strategy: { releaseCommand: 'npm run migrate' },
    script: { h3: { prepareMs: 6_000 } },
    latencyMs: { 'release-command': 7_000 },
  }).run();
  assert.equal(sim.d.state, S.SUCCEEDED);
  const rc = sim.actionsOf('release-command');
  assert.deepEqual(rc.map((a) => a.value), [{ kind: 'release-command', host: 'h1' }]);
  assert.ok(rc[0].at >= Math.max(...sim.eventsOf('prepared').map((e) => e.at)), 'after every prepare');
  const done = sim.eventsOf('release-command-done');
  assert.equal(done.length, 1);
  assert.ok(sim.actionsOf('switch')[0].at >= done[0].at, 'no switch before the release command is done');
  assert.equal(sim.d.releaseCommandState, 'done');
  assert.ok(sim.stepMessages('h1').includes('running the release command on h1: npm run migrate'));
  assert.ok(sim.stepMessages('h1').includes('release command succeeded'));
});

test('release command failure: FAILED, nothing switched, no rollback', () => {
  const sim = new Sim({ hosts: H3, strategy: { releaseCommand: 'npm run migrate' }, script: { h1: { releaseCommand: 'fail' } } }).run();
  assert.deepEqual(sim.states.map((s) => s.value), [S.RUNNING, S.FAILED]);
  assert.equal(sim.d.reason, 'release command failed on h1: exit code 1');
  assert.equal(sim.d.releaseCommandState, 'failed');
  assert.equal(sim.actionsOf('release-command').length, 1);
  assert.equal(sim.actionsOf('switch').length, 0);
  assert.equal(sim.actionsOf('rollback').length, 0);
  assert.deepEqual(Object.values(phases(sim.d)), [P.SKIPPED, P.SKIPPED, P.SKIPPED]);
  assert.deepEqual(sim.actionsOf('finish').map((a) => a.value), [{ kind: 'finish', state: S.FAILED }]);
});

// ---- canaries ---------------------------------------------------------------------------

test('canary without auto_promote: stops, awaiting promotion, until `control promote`', () => {
  const sim = new Sim({ hosts: H3, strategy: { canary: 1, batchSize: 2 } });
  sim.run((s) => s.d.awaitingPromotion);
  assert.equal(sim.d.state, S.RUNNING);
  assert.deepEqual(phases(sim.d), { h1: P.HEALTHY, h2: P.PREPARED, h3: P.PREPARED });
  assert.deepEqual(sim.switchBatches(), [['h1']]);
  assert.ok(sim.host('h1').canary);

  const waitFrom = sim.now;
  sim.runFor(10 * 60_000);
  assert.equal(sim.actions.filter((a) => a.at >= waitFrom).length, 0, 'nothing happens while waiting');
  assert.equal(sim.d.awaitingPromotion, true);
  assert.equal(sim.d.state, S.RUNNING);
  assert.equal(sim.stepMessages().filter((m) => m === 'canaries healthy: waiting for `fleet deploy promote dep-1`').length, 1, 'said once');

  const promotedAt = sim.now;
  sim.control('promote', 'carol');
  assert.equal(sim.d.awaitingPromotion, false);
  assert.equal(sim.d.promoted, true);
  sim.run();
  assert.equal(sim.d.state, S.SUCCEEDED);
  assert.deepEqual(sim.switchBatches(), [['h1'], ['h2', 'h3']]);
  assert.equal(sim.actionsOf('switch').find((a) => a.value.host === 'h2')!.at, promotedAt, 'switched on the next advance');
  assert.ok(sim.stepMessages().includes('canaries promoted by carol'));
});

test('canary with auto_promote: continues by itself once the canary is healthy', () => {
  const sim = new Sim({ hosts: H3, strategy: { canary: 1, batchSize: 2, autoPromote: true } });
  sim.run((s) => {
    assert.equal(s.d.awaitingPromotion, false);
    return false;
  });
  assert.equal(sim.d.state, S.SUCCEEDED);
  assert.equal(sim.d.promoted, true);
  assert.deepEqual(sim.switchBatches(), [['h1'], ['h2', 'h3']]);
  assert.equal(sim.actionsOf('switch').find((a) => a.value.host === 'h2')!.at, sim.phaseAt('h1', P.HEALTHY));
  assert.ok(sim.stepMessages().includes('canaries healthy: promoted automatically'));
  assert.equal(sim.eventsOf('control').length, 0);
});

// ---- failures ---------------------------------------------------------------------------

test('switch failure on host 2 of 3: rolls back hosts 1 and 2 to their previous versions, host 3 skipped', () => {
  const sim = new Sim({ hosts: H3, script: { h1: { runningVersion: 7 }, h2: { runningVersion: 0, switch: 'fail' }, h3: { runningVersion: 7 } } }).run();
  assert.deepEqual(sim.states.map((s) => s.value), [S.RUNNING, S.ROLLING_BACK, S.ROLLED_BACK]);
  assert.equal(sim.d.reason, 'h2: reload failed: port in use');
  assert.ok(sim.phaseHistory('h1').includes(P.HEALTHY), 'h1 was healthy before h2 switched');
  assert.deepEqual(
    sim.actionsOf('rollback').map((a) => a.value),
    [
      { kind: 'rollback', host: 'h1', version: 7 },
      { kind: 'rollback', host: 'h2', version: 0 },
    ],
  );
  assert.equal(sim.actionsOf('switch').filter((a) => a.value.host === 'h3').length, 0);
  assert.deepEqual(phases(sim.d), { h1: P.ROLLED_BACK, h2: P.ROLLED_BACK, h3: P.SKIPPED });
  assert.equal(sim.host('h1').reason, 'back on v7');
  assert.equal(sim.host('h2').reason, 'stopped: the app was new on this host');
  assert.equal(sim.host('h3').reason, 'not switched');
  assert.deepEqual(sim.actionsOf('finish').map((a) => a.value), [{ kind: 'finish', state: S.ROLLED_BACK }]);
  assert.equal(sim.actions.at(-1)?.value.kind, 'finish');
  assert.ok(sim.stepMessages().includes('stopping: h2: reload failed: port in use; rolling back the switched hosts'));
  assert.ok(sim.stepMessages('h1').includes('rolling back to v7'));
  assert.ok(sim.stepMessages('h2').includes('stopping the app (it was new on this host)'));
  assert.equal(sim.d.steps.at(-1)?.message, 'deployment rolled-back: h2: reload failed: port in use');
});

test('healthy_deadline: a host unhealthy until the deadline fails, naming the deadline and the last problem', () => {
  const sim = new Sim({
    hosts: ['h1', 'h2'],
    strategy: { healthyDeadlineMs: 60_000 },
    script: { h1: { health: (n) => ({ healthy: false, problem: n < 3 ? 'starting' : '1 of 2 instances not ready' }) } },
  }).run();
  const why = 'not healthy within healthy_deadline (60 s): 1 of 2 instances not ready';
  assert.equal(sim.d.reason, `h1: ${why}`);
  assert.ok(sim.stepMessages('h1').includes(why));
  const failedAt = sim.stateAt(S.ROLLING_BACK)!;
  const switchedAt = sim.eventsOf('switched').find((e) => e.value.host === 'h1')!.at;
  assert.ok(failedAt - switchedAt > 60_000, `failed ${failedAt - switchedAt} ms after the switch`);
  assert.ok(failedAt - switchedAt <= 60_000 + 2 * sim.tickMs);
  assert.ok(sim.eventsOf('health').filter((e) => e.value.host === 'h1').length > 30, 'checked all along');
  assert.deepEqual(sim.states.map((s) => s.value), [S.RUNNING, S.ROLLING_BACK, S.ROLLED_BACK]);
  assert.deepEqual(sim.actionsOf('rollback').map((a) => a.value.host), ['h1']);
  assert.deepEqual(phases(sim.d), { h1: P.ROLLED_BACK, h2: P.SKIPPED });
});

test('healthy_deadline with no_auto_rollback: the host stays FAILED with the reason', () => {
  const sim = new Sim({
    hosts: ['h1', 'h2'],
    strategy: { healthyDeadlineMs: 20_000, noAutoRollback: true },
    script: { h1: { health: () => ({ healthy: false, problem: 'GET /health: 500' }) } },
  }).run();
  assert.equal(sim.d.state, S.FAILED);
  assert.equal(sim.host('h1').phase, P.FAILED);
  assert.equal(sim.host('h1').reason, 'not healthy within healthy_deadline (20 s): GET /health: 500');
});

test('crash after the switch: restarts above the baseline from `switched` fail at once', () => {
  // Restarts are already 3 when the switch returns: that is the baseline, not a crash.
  const sim = new Sim({
    hosts: ['h1', 'h2'],
    strategy: { minHealthyMs: 60_000 },
    script: { h1: { restarts: 3, health: (n) => (n < 4 ? { healthy: true, restarts: 3 } : { healthy: true, restarts: 4 }) } },
  }).run();
  const checks = sim.eventsOf('health').filter((e) => e.value.host === 'h1');
  assert.equal(checks.length, 5);
  assert.equal(sim.phaseAt('h1', P.FAILED), checks[4].at, 'failed on the check that saw the rise');
  assert.equal(sim.d.reason, 'h1: an instance crashed after the switch (restarts 3 -> 4)');
  assert.equal(sim.d.state, S.ROLLED_BACK);
  assert.deepEqual(sim.actionsOf('rollback').map((a) => a.value.host), ['h1']);
});

test('fatal health: fails at once, with the problem as the reason', () => {
  const sim = new Sim({
    hosts: ['h1', 'h2'],
    script: { h1: { health: (n) => (n === 0 ? { healthy: false, problem: 'starting' } : { healthy: false, fatal: true, problem: 'instance 0 errored: EADDRINUSE' }) } },
  }).run();
  const checks = sim.eventsOf('health').filter((e) => e.value.host === 'h1');
  assert.equal(checks.length, 2);
  assert.equal(sim.phaseAt('h1', P.FAILED), checks[1].at);
  assert.equal(sim.d.reason, 'h1: instance 0 errored: EADDRINUSE');
  assert.equal(sim.d.state, S.ROLLED_BACK);
  assert.equal(sim.actionsOf('switch').filter((a) => a.value.host === 'h2').length, 0);
});

test('host-lost while verifying fails the deployment naming the host; a lost host that is already healthy does not', () => {
  const sim = new Sim({ hosts: H3, script: { h2: { health: (n) => (n === 1 ? 'lost' : { healthy: true }) } } });
  sim.run((s) => s.host('h1').phase === P.HEALTHY);
  sim.event({ kind: 'host-lost', host: 'h1', error: 'h1 disconnected' });
  assert.equal(sim.d.state, S.RUNNING, 'a healthy host counts as done');
  assert.equal(sim.host('h1').phase, P.HEALTHY);
  sim.run();
  assert.equal(sim.d.reason, 'h2: h2 disconnected');
  assert.deepEqual(sim.states.map((s) => s.value), [S.RUNNING, S.ROLLING_BACK, S.ROLLED_BACK]);
  assert.deepEqual(sim.actionsOf('rollback').map((a) => a.value.host), ['h1', 'h2']);
  assert.equal(sim.host('h3').phase, P.SKIPPED);
});

test('no_auto_rollback: a switch failure ends FAILED with no rollback action', () => {
  const sim = new Sim({ hosts: H3, strategy: { noAutoRollback: true }, script: { h2: { switch: 'fail' } } }).run();
  assert.deepEqual(sim.states.map((s) => s.value), [S.RUNNING, S.FAILED]);
  assert.equal(sim.actionsOf('rollback').length, 0);
  assert.deepEqual(phases(sim.d), { h1: P.HEALTHY, h2: P.FAILED, h3: P.SKIPPED });
  assert.equal(sim.d.reason, 'h2: reload failed: port in use');
  assert.ok(sim.stepMessages().includes('stopped: h2: reload failed: port in use'));
  assert.deepEqual(sim.actionsOf('finish').map((a) => a.value), [{ kind: 'finish', state: S.FAILED }]);
});

test('rollback-failed: the deployment ends FAILED, naming the host', () => {
  const sim = new Sim({ hosts: H3, script: { h1: { rollback: 'fail' }, h2: { switch: 'fail' } } }).run();
  assert.deepEqual(sim.states.map((s) => s.value), [S.RUNNING, S.ROLLING_BACK, S.FAILED]);
  assert.equal(sim.d.reason, 'h2: reload failed: port in use; h1: rollback failed: previous release missing');
  assert.deepEqual(phases(sim.d), { h1: P.FAILED, h2: P.ROLLED_BACK, h3: P.SKIPPED });
  assert.equal(sim.host('h1').reason, 'rollback failed: previous release missing');
  assert.equal(sim.actionsOf('rollback').filter((a) => a.value.host === 'h1').length, 1, 'not retried');
  assert.ok(sim.stepMessages().includes('rollback incomplete: see the hosts above'));
  assert.deepEqual(sim.actionsOf('finish').map((a) => a.value), [{ kind: 'finish', state: S.FAILED }]);
});

test('host-lost answering a rollback counts as a failed rollback, not one to ask again (forever)', () => {
  const sim = new Sim({ hosts: H3, script: { h1: { rollback: 'lost' }, h2: { switch: 'fail' } } });
  sim.run(undefined, 10 * 60_000);
  assert.equal(sim.d.state, S.FAILED);
  assert.equal(sim.actionsOf('rollback').filter((a) => a.value.host === 'h1').length, 1);
  assert.equal(sim.host('h1').reason, 'rollback failed: h1 disconnected');
  assert.equal(sim.d.reason, 'h2: reload failed: port in use; h1: rollback failed: h1 disconnected');
  assert.deepEqual(phases(sim.d), { h1: P.FAILED, h2: P.ROLLED_BACK, h3: P.SKIPPED });
});

// ---- control ------------------------------------------------------------------------------

test('cancel mid-rollout: switched hosts roll back, then CANCELLED', () => {
  const sim = new Sim({ hosts: H3 });
  sim.run((s) => s.host('h2').phase === P.VERIFYING);
  sim.control('cancel', 'dave');
  assert.equal(sim.d.state, S.ROLLING_BACK);
  sim.run();
  assert.equal(sim.d.state, S.CANCELLED);
  assert.equal(sim.d.reason, 'cancelled by dave');
  assert.deepEqual(sim.actionsOf('rollback').map((a) => a.value), [
    { kind: 'rollback', host: 'h1', version: 1 },
    { kind: 'rollback', host: 'h2', version: 1 },
  ]);
  assert.deepEqual(phases(sim.d), { h1: P.ROLLED_BACK, h2: P.ROLLED_BACK, h3: P.SKIPPED });
  assert.deepEqual(sim.actionsOf('finish').map((a) => a.value), [{ kind: 'finish', state: S.CANCELLED }]);
  assert.equal(sim.d.steps.at(-1)?.message, 'deployment cancelled: cancelled by dave');
});

test('cancel before any switch: CANCELLED directly, finished once the prepares return', () => {
  const sim = new Sim({ hosts: H3 });
  sim.tick();
  sim.control('cancel', 'dave');
  assert.equal(sim.d.state, S.CANCELLED);
  assert.equal(sim.d.endedMs, 0);
  assert.deepEqual(sim.tick(), [], 'prepares still in flight');
  sim.run();
  assert.deepEqual(sim.states.map((s) => s.value), [S.RUNNING, S.CANCELLED]);
  assert.equal(sim.actionsOf('switch').length, 0);
  assert.equal(sim.actionsOf('rollback').length, 0);
  assert.deepEqual(Object.values(phases(sim.d)), [P.SKIPPED, P.SKIPPED, P.SKIPPED]);
  const finish = sim.actionsOf('finish');
  assert.deepEqual(finish.map((a) => a.value), [{ kind: 'finish', state: S.CANCELLED }]);
  assert.ok(finish[0].at >= Math.max(...sim.eventsOf('prepared').map((e) => e.at)));
});

test('pause stops new switches while health checks go on; resume continues', () => {
  const sim = new Sim({ hosts: H3 });
  sim.run((s) => s.host('h1').phase === P.VERIFYING);
  const pausedAt = sim.now;
  sim.control('pause');
  assert.equal(sim.d.state, S.PAUSED);
  sim.runFor(60_000);
  assert.equal(sim.d.state, S.PAUSED);
  assert.ok(sim.actionsOf('check').filter((a) => a.at >= pausedAt && a.value.host === 'h1').length > 0, 'h1 checked while paused');
  assert.ok(sim.phaseAt('h1', P.HEALTHY)! > pausedAt, 'h1 became healthy while paused');
  assert.equal(sim.actionsOf('switch').filter((a) => a.at >= pausedAt).length, 0, 'no switch while paused');
  assert.deepEqual(phases(sim.d), { h1: P.HEALTHY, h2: P.PREPARED, h3: P.PREPARED });
  const resumedAt = sim.now;
  sim.control('resume');
  assert.equal(sim.d.state, S.RUNNING);
  sim.run();
  assert.equal(sim.d.state, S.SUCCEEDED);
  assert.equal(sim.actionsOf('switch').find((a) => a.value.host === 'h2')!.at, resumedAt);
  assert.ok(sim.stepMessages().includes('paused by bob') && sim.stepMessages().includes('resumed by bob'));
});

test('pause does not stop a bad host from failing the deployment', () => {
  const sim = new Sim({ hosts: H3, script: { h1: { health: (n) => (n < 2 ? { healthy: true } : { healthy: false, fatal: true, problem: 'errored' }) } } });
  sim.run((s) => s.host('h1').phase === P.VERIFYING);
  sim.control('pause');
  sim.run();
  assert.deepEqual(sim.states.map((s) => s.value), [S.RUNNING, S.PAUSED, S.ROLLING_BACK, S.ROLLED_BACK]);
  assert.equal(sim.d.reason, 'h1: errored');
});

test('pause, resume and promote are ignored once the deployment is rolling back or ended', () => {
  const sim = new Sim({ hosts: H3, script: { h2: { switch: 'fail' } }, latencyMs: { rollback: 5_000 } });
  sim.run((s) => s.d.state === S.ROLLING_BACK);
  sim.control('resume');
  assert.equal(sim.d.state, S.ROLLING_BACK, 'resume does not restart a rollout being rolled back');
  sim.control('pause');
  assert.equal(sim.d.state, S.ROLLING_BACK, 'pause does not stop a rollback');
  sim.run();
  assert.equal(sim.d.state, S.ROLLED_BACK);
  assert.equal(sim.actionsOf('switch').filter((a) => a.value.host === 'h3').length, 0);
  for (const action of ['pause', 'resume', 'promote', 'cancel'] as const) {
    const after = apply(sim.d, { kind: 'control', action, by: 'bob' }, sim.now);
    assert.equal(after.state, S.ROLLED_BACK, action);
    assert.equal(after.promoted, false, action);
  }
});

test('resume on a running deployment and pause on a paused one change nothing', () => {
  const d = mk(H3);
  assert.equal(apply(d, { kind: 'control', action: 'resume', by: 'bob' }, T0).state, S.RUNNING);
  const paused = apply(d, { kind: 'control', action: 'pause', by: 'bob' }, T0);
  assert.equal(paused.state, S.PAUSED);
  assert.equal(apply(paused, { kind: 'control', action: 'pause', by: 'bob' }, T0).state, S.PAUSED);
});

test('progress_deadline: a deployment that takes too long fails and rolls back what it switched', () => {
  const sim = new Sim({ hosts: H3, strategy: { progressDeadlineMs: 20_000, minHealthyMs: 8_000 } }).run();
  assert.deepEqual(sim.states.map((s) => s.value), [S.RUNNING, S.ROLLING_BACK, S.ROLLED_BACK]);
  assert.equal(sim.d.reason, 'the deployment did not finish within progress_deadline (20 s)');
  const failedAt = sim.stateAt(S.ROLLING_BACK)!;
  assert.ok(failedAt > T0 + 20_000 && failedAt <= T0 + 20_000 + sim.tickMs, `failed at +${failedAt - T0}`);
  const switchedHosts = sim.actionsOf('switch').map((a) => a.value.host);
  assert.ok(switchedHosts.length >= 1 && switchedHosts.length < 3);
  assert.deepEqual(sim.actionsOf('rollback').map((a) => a.value.host), switchedHosts);
  assert.equal(sim.host('h3').phase, P.SKIPPED);
});

test('progress_deadline: not before it passes', () => {
  const d = mk(H3, { progressDeadlineMs: 20_000 });
  assert.equal(advance(d, T0 + 20_000, NONE).deployment.state, S.RUNNING);
  assert.equal(advance(d, T0 + 20_001, NONE).deployment.state, S.FAILED, 'nothing switched: no rollback');
});

// ---- busy hosts ---------------------------------------------------------------------------

test('busy: a host with a call in flight gets no new action', () => {
  let d = mk(H3, { batchSize: 2, releaseCommand: 'migrate' });
  // Prepare: only the hosts not busy.
  let r = advance(d, T0, new Set(['h2']));
  assert.deepEqual(hostsOf(r.actions, 'prepare'), ['h1', 'h3']);
  assert.equal(r.deployment.hosts[1].phase, P.WAITING);
  r = advance(r.deployment, T0 + 1, NONE);
  assert.deepEqual(hostsOf(r.actions, 'prepare'), ['h2']);
  d = fold(r.deployment, T0 + 2, prepared('h1'), prepared('h2'), prepared('h3'));
  // The release command: not again while it runs.
  r = advance(d, T0 + 3, NONE);
  assert.deepEqual(r.actions, [{ kind: 'release-command', host: 'h1' }]);
  assert.deepEqual(advance(r.deployment, T0 + 4, new Set([''])).actions, []);
  d = fold(r.deployment, T0 + 5, { kind: 'release-command-done', host: 'h1' });
  // Switch: the busy host of the batch waits, the other goes.
  r = advance(d, T0 + 6, new Set(['h2']));
  assert.deepEqual(r.actions, [{ kind: 'switch', host: 'h1' }]);
  r = advance(r.deployment, T0 + 7, new Set(['h1']));
  assert.deepEqual(r.actions, [{ kind: 'switch', host: 'h2' }]);
  // Check: not while a check is in flight.
  d = fold(r.deployment, T0 + 8, switched('h1'), switched('h2'));
  r = advance(d, T0 + 9, new Set(['h1']));
  assert.deepEqual(r.actions, [{ kind: 'check', host: 'h2' }]);
  r = advance(d, T0 + 9, NONE);
  assert.deepEqual(hostsOf(r.actions, 'check'), ['h1', 'h2']);
});

test('busy: no rollback for a host with a call in flight, and no finish until every call returned', () => {
  let d = mk(['h1', 'h2'], { batchSize: 2 });
  d = advance(d, T0, NONE).deployment;
  d = fold(d, T0 + 1, prepared('h1'), prepared('h2'));
  d = advance(d, T0 + 2, NONE).deployment; // switches h1 and h2
  d = fold(d, T0 + 3, switched('h1'), { kind: 'switch-failed', host: 'h2', error: 'boom' });
  assert.equal(d.state, S.ROLLING_BACK);
  // h1 has a check in flight: only h2 rolls back now.
  let r = advance(d, T0 + 4, new Set(['h1']));
  assert.deepEqual(r.actions, [{ kind: 'rollback', host: 'h2', version: 1 }]);
  d = fold(r.deployment, T0 + 5, { kind: 'rolled-back', host: 'h2' });
  r = advance(d, T0 + 6, new Set(['h1']));
  assert.deepEqual(r.actions, [], 'h1 still busy: neither its rollback nor the finish');
  assert.equal(r.deployment.state, S.ROLLING_BACK);
  d = fold(r.deployment, T0 + 7, healthy('h1'));
  r = advance(d, T0 + 8, NONE);
  assert.deepEqual(r.actions, [{ kind: 'rollback', host: 'h1', version: 1 }]);
  r = advance(r.deployment, T0 + 9, new Set(['h1']));
  assert.deepEqual(r.actions, []);
  d = fold(r.deployment, T0 + 10, { kind: 'rolled-back', host: 'h1' });
  r = advance(d, T0 + 11, NONE);
  assert.deepEqual(r.actions, [{ kind: 'finish', state: S.ROLLED_BACK }]);
  assert.equal(r.deployment.endedMs, T0 + 11);
});

test('busy: a final state is not finished while a call is in flight', () => {
  let d = advance(mk(H3), T0, NONE).deployment;
  d = fold(d, T0 + 1, { kind: 'prepare-failed', host: 'h1', error: 'disk full' });
  assert.equal(d.state, S.FAILED);
  for (const busy of [new Set(['h2']), new Set(['h3']), new Set([''])]) {
    const r = advance(d, T0 + 2, busy);
    assert.deepEqual(r.actions, [], [...busy].join());
    assert.equal(r.deployment.endedMs, 0);
  }
  // A name that is no host of this deployment (another deployment's call) does not hold it up.
  const r = advance(d, T0 + 3, new Set(['elsewhere']));
  assert.deepEqual(r.actions, [{ kind: 'finish', state: S.FAILED }]);
});

test('busy: the healthy deadline waits for a check in flight, whose answer names the problem', () => {
  let d = advance(mk(['h1', 'h2'], { healthyDeadlineMs: 60_000 }), T0, NONE).deployment;
  d = fold(d, T0 + 1, prepared('h1'), prepared('h2'));
  d = advance(d, T0 + 2, NONE).deployment;
  d = fold(d, T0 + 3, switched('h1'));
  const late = T0 + 3 + 60_001;
  let r = advance(d, late, new Set(['h1']));
  assert.equal(r.deployment.state, S.RUNNING, 'the check in flight may still answer');
  assert.equal(r.deployment.hosts[0].phase, P.VERIFYING);
  d = fold(r.deployment, late + 1, { kind: 'health', host: 'h1', healthy: false, problem: 'GET /health: 502', fatal: false, restarts: 0 });
  r = advance(d, late + 2, NONE);
  assert.equal(r.deployment.state, S.ROLLING_BACK);
  assert.equal(r.deployment.reason, 'h1: not healthy within healthy_deadline (60 s): GET /health: 502');
  assert.deepEqual(r.actions, [{ kind: 'rollback', host: 'h1', version: 1 }]);
});

test('busy: a pending release command is not asked for again while one is in flight', () => {
  let d = advance(mk(['h1', 'h2'], { releaseCommand: 'migrate' }), T0, NONE).deployment;
  d = fold(d, T0 + 1, prepared('h1'), prepared('h2'));
  d = advance(d, T0 + 2, NONE).deployment;
  assert.equal(d.releaseCommandState, 'running');
  d = fold(d, T0 + 3, { kind: 'restarted' });
  assert.equal(d.releaseCommandState, 'pending');
  assert.deepEqual(advance(d, T0 + 4, new Set([''])).actions, []);
  assert.deepEqual(advance(d, T0 + 4, NONE).actions, [{ kind: 'release-command', host: 'h1' }]);
});

// ---- controller restart ------------------------------------------------------------------

test('restarted: preparing hosts are prepared again, and a running release command runs again', () => {
  const sim = new Sim({ hosts: H3, strategy: { releaseCommand: 'migrate' }, latencyMs: { 'release-command': 5_000 } });
  sim.tick();
  assert.deepEqual(Object.values(phases(sim.d)), [P.PREPARING, P.PREPARING, P.PREPARING]);
  sim.restart();
  assert.deepEqual(Object.values(phases(sim.d)), [P.WAITING, P.WAITING, P.WAITING]);
  assert.deepEqual(hostsOf(sim.tick(), 'prepare'), H3);
  sim.run((s) => s.d.releaseCommandState === 'running');
  sim.restart();
  assert.equal(sim.d.releaseCommandState, 'pending');
  assert.deepEqual(sim.tick(), [{ kind: 'release-command', host: 'h1' }]);
  sim.run();
  assert.equal(sim.d.state, S.SUCCEEDED);
  assert.equal(sim.actionsOf('prepare').length, 6);
  assert.equal(sim.actionsOf('release-command').length, 2);
  assert.ok(sim.stepMessages().includes('controller restarted: resuming'));
});

test('restarted: a switching host is switched again', () => {
  const sim = new Sim({ hosts: H3 });
  sim.run((s) => s.host('h2').phase === P.SWITCHING);
  sim.restart();
  assert.equal(sim.host('h2').phase, P.PREPARED);
  assert.equal(sim.host('h2').switched, true, 'it may have switched: a rollback must still cover it');
  assert.deepEqual(sim.tick(), [{ kind: 'switch', host: 'h2' }]);
  sim.run();
  assert.equal(sim.d.state, S.SUCCEEDED);
  assert.deepEqual(sim.actionsOf('switch').map((a) => a.value.host), ['h1', 'h2', 'h2', 'h3']);
});

test('restarted: a verifying host is verified again from zero', () => {
  const minHealthyMs = 10_000;
  const sim = new Sim({ hosts: ['h1', 'h2'], strategy: { minHealthyMs } });
  sim.run((s) => s.host('h1').healthySinceMs > 0 && s.now - s.host('h1').healthySinceMs >= 7_000);
  const before = sim.host('h1').healthySinceMs;
  const restartedAt = sim.now;
  sim.restart();
  assert.equal(sim.host('h1').phase, P.VERIFYING);
  assert.equal(sim.host('h1').healthySinceMs, 0);
  sim.run();
  assert.equal(sim.d.state, S.SUCCEEDED);
  const healthyAt = sim.phaseAt('h1', P.HEALTHY)!;
  assert.ok(healthyAt >= restartedAt + minHealthyMs, `healthy at +${healthyAt - restartedAt} ms after the restart`);
  assert.ok(healthyAt > before + minHealthyMs);
});

test('restarted: a rollback in flight is made again', () => {
  const sim = new Sim({ hosts: H3, script: { h2: { switch: 'fail' } }, latencyMs: { rollback: 5_000 } });
  sim.run((s) => s.host('h1').phase === P.ROLLING_BACK);
  sim.restart();
  assert.equal(sim.d.state, S.ROLLING_BACK);
  assert.deepEqual(hostsOf(sim.tick(), 'rollback'), ['h1', 'h2']);
  sim.run();
  assert.equal(sim.d.state, S.ROLLED_BACK);
  assert.deepEqual(phases(sim.d), { h1: P.ROLLED_BACK, h2: P.ROLLED_BACK, h3: P.SKIPPED });
});

// ---- ended ------------------------------------------------------------------------------

test('advance on an ended deployment returns it unchanged, with no actions', () => {
  const sim = new Sim({ hosts: H3 }).run();
  assert.equal(sim.d.state, S.SUCCEEDED);
  for (const busy of [NONE, new Set(['h1']), new Set([''])]) {
    const r = advance(sim.d, sim.now + 10 * 3_600_000, busy);
    assert.equal(r.deployment, sim.d);
    assert.deepEqual(r.actions, []);
  }
  const failed = new Sim({ hosts: H3, script: { h2: { switch: 'fail' } } }).run();
  assert.deepEqual(advance(failed.d, failed.now + 1, NONE).actions, []);
});

test('a host turns healthy exactly at min_healthy (wakeAt), and a late check of a healthy host does not hold the end', () => {
  let d = newDeployment({ id: 'x', app: 'api', version: 2, hosts: ['web1'], strategy: { minHealthyMs: 1 } as RolloutStrategy, createdBy: 'me', rollback: false, now: 0 });
  d = apply(advance(d, 0, new Set()).deployment, { kind: 'prepared', host: 'web1', runningVersion: 1, downloaded: true }, 10);
  d = apply(advance(d, 10, new Set()).deployment, { kind: 'switched', host: 'web1', restarts: 0, message: '' }, 100);
  d = apply(advance(d, 100, new Set()).deployment, { kind: 'health', host: 'web1', healthy: true, problem: '', fatal: false, restarts: 0 }, 110);
  const same = advance(d, 110, new Set());
  assert.equal(same.deployment.hosts[0].phase, HostPhase.HOST_PHASE_VERIFYING, 'not yet: 0 ms of 1 ms');
  assert.equal(same.wakeAt, 111, 'the driver is told when to look again');
  // That second check is in flight when the host turns stable: the end does not wait for it.
  const later = advance(same.deployment, 111, new Set(['web1']));
  assert.equal(later.deployment.state, DeploymentState.DEPLOYMENT_STATE_SUCCEEDED);
  assert.deepEqual(later.actions.map((a) => a.kind), ['finish']);
  assert.equal(later.wakeAt, undefined);
});

test('time paused or waiting for a promote does not count toward progress_deadline', () => {
  const strategy = { canary: 1, progressDeadlineMs: 1000, minHealthyMs: 1 } as RolloutStrategy;
  let d = newDeployment({ id: 'x', app: 'api', version: 2, hosts: ['web1', 'web2'], strategy, createdBy: 'me', rollback: false, now: 0 });
  const step = (now: number, busy: string[] = []) => (d = advance(d, now, new Set(busy)).deployment);
  step(0);
  d = apply(d, { kind: 'prepared', host: 'web1', runningVersion: 1, downloaded: true }, 10);
  d = apply(d, { kind: 'prepared', host: 'web2', runningVersion: 1, downloaded: true }, 10);
  step(10);
  d = apply(d, { kind: 'switched', host: 'web1', restarts: 0, message: '' }, 20);
  d = apply(d, { kind: 'health', host: 'web1', healthy: true, problem: '', fatal: false, restarts: 0 }, 30);
  step(40);
  assert.equal(d.awaitingPromotion, true);
  // Nobody promotes for a long while: well past the deadline, nothing fails.
  step(50_000);
  assert.equal(d.state, DeploymentState.DEPLOYMENT_STATE_RUNNING);
  d = apply(d, { kind: 'control', action: 'promote', by: 'me' }, 50_000);
  step(50_010);
  assert.equal(d.state, DeploymentState.DEPLOYMENT_STATE_RUNNING, 'the clock resumed at the promote, with 40 ms used');
  // Once it runs again, the deadline counts: ~1 s of running time later it fails.
  step(51_100, ['web2']);
  assert.equal(d.state, DeploymentState.DEPLOYMENT_STATE_ROLLING_BACK);
  assert.match(d.reason, /progress_deadline/);
});

test('controlProblem refuses what a control cannot do, so the CLI can say so', () => {
  const d = newDeployment({ id: 'abcd1234', app: 'api', version: 2, hosts: ['web1'], strategy: {} as RolloutStrategy, createdBy: 'me', rollback: false, now: 0 });
  assert.equal(controlProblem(d, 'pause'), undefined);
  assert.match(controlProblem(d, 'resume')!, /not paused/);
  assert.match(controlProblem(d, 'promote')!, /no canaries/);
  const paused = apply(d, { kind: 'control', action: 'pause', by: 'me' }, 1);
  assert.match(controlProblem(paused, 'pause')!, /already paused/);
  assert.equal(controlProblem(paused, 'resume'), undefined);
  const ended = { ...d, state: DeploymentState.DEPLOYMENT_STATE_ROLLING_BACK };
  for (const a of ['pause', 'resume', 'cancel', 'promote'] as const) assert.match(controlProblem(ended, a)!, /rolling-back/);
});
