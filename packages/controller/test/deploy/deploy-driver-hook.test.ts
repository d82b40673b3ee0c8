// DeployDriver's onChange hook (what `--nats` publishes to fleet.<cluster>.deploys.<app>):
// each step is told exactly once, in order, with state changes; a resumed
// deployment does not tell its old steps again; a hook that throws stops
// nothing. The driver runs for real, against hosts whose links answer at once.
import { strict as assert } from 'node:assert';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  type Deployment,
  DeploymentState,
  type DeployStep,
  type HostMethod,
  type HostRequest,
  type HostResponse,
  NatsSubjects,
  natsTarget,
  Register,
  Release,
  ReleaseState,
  RolloutStrategy,
} from '@fleet/protocol';
import type { HostLink } from '../../src/host-link';
import { HostRegistry } from '../../src/host-registry';
import { LogHub } from '../../src/log-hub';
import { createNatsDataPlane } from '../../src/nats/nats-data-plane';
import { DeployDriver, type Told, untold } from '../../src/deploy/deploy-driver';
import { ReleaseBook } from '../../src/deploy/release-book';
import { newDeployment } from '../../src/deploy/rollout-plan';

const step = (message: string): DeployStep => ({ timeMs: 1, host: '', message });
const dep = (state: DeploymentState, ...messages: string[]): Deployment => ({ state, steps: messages.map(step) }) as Deployment;
const RUNNING = DeploymentState.DEPLOYMENT_STATE_RUNNING;

test('untold: the steps since the last telling; a state change alone tells no step; nothing new tells nothing', () => {
  assert.deepEqual(untold(dep(RUNNING, 'a'), undefined)?.map((s) => s.message), ['a'], 'first telling: every step');
  const told: Told = { steps: 1, state: RUNNING };
  assert.equal(untold(dep(RUNNING, 'a'), told), undefined, 'nothing new');
  assert.deepEqual(untold(dep(RUNNING, 'a', 'b', 'c'), told)?.map((s) => s.message), ['b', 'c']);
  assert.deepEqual(untold(dep(DeploymentState.DEPLOYMENT_STATE_PAUSED, 'a'), told), [], 'state only');
  assert.deepEqual(untold(dep(RUNNING), { steps: 3, state: RUNNING }), undefined, 'fewer steps than told (never happens): nothing, no throw');
});

test('the subject: fleet.<cluster>.deploys.<app>, the app one escaped token', () => {
  const s = new NatsSubjects('prod');
  assert.equal(s.deploys('api'), 'fleet.prod.deploys.api');
  assert.equal(s.deploys('api.v2'), 'fleet.prod.deploys.api%2Ev2');
  assert.equal(s.allDeploys, 'fleet.prod.deploys.*');
  assert.equal(s.parse(s.deploys('api')), undefined, 'not a subject the controllers take');
});

/** A host whose agent does at once whatever it is asked, and is always healthy. */
class InstantHost implements HostLink {
  readonly calls: string[] = [];
  async call<M extends HostMethod>(method: M, _req: HostRequest<M>): Promise<HostResponse<M>> {
    this.calls.push(method);
    const res: Partial<Record<HostMethod, unknown>> = {
      prepareRelease: { releaseDir: '/r', downloaded: true, durationMs: 1, runningVersion: 0 },
      activateRelease: { message: 'started', restarts: 0 },
      releaseHealth: { instances: 1, readyOnRelease: 1, restarts: 0, problem: '', fatal: false },
    };
    if (!(method in res)) throw new Error(`unexpected call ${method}`);
    return res[method] as HostResponse<M>;
  }
  close(): void {}
}

describe('DeployDriver onChange', () => {
  const dirs: string[] = [];
  after(() => {
    for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
  });

  function setup(hosts: string[]): { book: ReleaseBook; registry: HostRegistry; deployment: (id: string) => Deployment } {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-driver-hook-'));
    dirs.push(dir);
    const book = new ReleaseBook(dir);
    const strategy = RolloutStrategy.fromPartial({ minHealthyMs: 20 });
    book.add(Release.fromPartial({ app: 'api', digest: 'd'.repeat(64), sizeBytes: 1, state: ReleaseState.RELEASE_STATE_PENDING, strategy }));
    const registry = new HostRegistry();
    for (const name of hosts) registry.attach(Register.fromPartial({ name, instanceId: `agent-${name}` }), new InstantHost(), '127.0.0.1');
    const deployment = (id: string): Deployment =>
      newDeployment({ id, app: 'api', version: 1, hosts, strategy, createdBy: 'test', rollback: false, now: Date.now() });
    return { book, registry, deployment };
  }

  function ended(driver: DeployDriver, id: string): Promise<Deployment> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`deployment ${id} did not end: ${JSON.stringify(driver.current(id)?.steps)}`)), 10_000);
      const stop = driver.watch(id, (d) => {
        if (d.endedMs === 0) return;
        clearTimeout(timer);
        stop();
        resolve(d);
      });
    });
  }

  const fast = { checkIntervalMs: 5, tickMs: 5 };

  test('a deployment to two hosts: every step told once, in order, ending with "deployment succeeded"', async () => {
    const { book, registry, deployment } = setup(['web1', 'web2']);
    const told: { steps: string[]; from: number; state: DeploymentState; total: number }[] = [];
    const driver = new DeployDriver({
      book,
      registry,
      log: () => undefined,
      ...fast,
      onChange: (d, steps) => told.push({ steps: steps.map((s) => s.message), from: d.steps.length - steps.length, state: d.state, total: d.steps.length }),
    });
    const d = deployment('dep-1');
    driver.start(d);
    const final = await ended(driver, 'dep-1');
    driver.stop();

    assert.equal(final.state, DeploymentState.DEPLOYMENT_STATE_SUCCEEDED);
    assert.deepEqual(told.flatMap((t) => t.steps), final.steps.map((s) => s.message), 'the told steps are the record, each once, in order');
    assert.match(told[0].steps[0], /^deployment of api v1 to web1, web2 created by test$/);
    assert.equal(told.at(-1)!.steps.at(-1), 'deployment succeeded');
    assert.equal(told.at(-1)!.state, DeploymentState.DEPLOYMENT_STATE_SUCCEEDED);
    let next = 0;
    for (const t of told) {
      assert.equal(t.from, next, 'each telling starts where the last one stopped');
      next = t.total;
    }
    for (const [i, t] of told.entries()) {
      assert.ok(t.steps.length > 0 || (i > 0 && t.state !== told[i - 1].state), `telling ${i} has news: ${JSON.stringify(t)}`);
    }
    assert.ok(told.length < 40, `told ${told.length} times: only on news, not on every health check`);
  });

  test("a resumed deployment tells only what happens after the restart, not the old controller's steps", async () => {
    const { book, registry, deployment } = setup(['web1']);
    const d = deployment('dep-2');
    book.save(d);
    const told: string[][] = [];
    const driver = new DeployDriver({ book, registry, log: () => undefined, ...fast, resumeGraceMs: 1000, onChange: (_d, steps) => told.push(steps.map((s) => s.message)) });
    driver.resumeAll();
    const final = await ended(driver, 'dep-2');
    driver.stop();
    assert.equal(final.state, DeploymentState.DEPLOYMENT_STATE_SUCCEEDED);
    assert.deepEqual(told[0], ['controller restarted: resuming']);
    assert.deepEqual(told.flat(), final.steps.slice(1).map((s) => s.message));
  });

  test('a hook that throws is logged and stops nothing', async () => {
    const { book, registry, deployment } = setup(['web1']);
    const logs: string[] = [];
    let calls = 0;
    const driver = new DeployDriver({
      book,
      registry,
      log: (m) => logs.push(m),
      ...fast,
      onChange: () => {
        calls++;
        throw new Error('NATS exploded');
      },
    });
    driver.start(deployment('dep-3'));
    const final = await ended(driver, 'dep-3');
    driver.stop();
    assert.equal(final.state, DeploymentState.DEPLOYMENT_STATE_SUCCEEDED);
    assert.ok(calls > 1);
    assert.ok(logs.some((l) => /deployment dep-3: onChange failed: NATS exploded/.test(l)), logs.join('\n'));
    assert.equal(book.release('api', 1)?.state, ReleaseState.RELEASE_STATE_GOOD);
  });
});

test('publishDeployment without a NATS connection: returns at once, never throws, tells the drop once', async () => {
  const logs: string[] = [];
  // Never started: no connection, as while NATS is away.
  const plane = createNatsDataPlane({ target: natsTarget({ url: 'nats://127.0.0.1:1', cluster: 't' }), hub: new LogHub({}), log: (m) => logs.push(m), name: 'test' });
  const d = newDeployment({ id: 'dep-4', app: 'api', version: 1, hosts: ['web1'], strategy: undefined, createdBy: 'test', rollback: false, now: Date.now() });
  const started = Date.now();
  for (let i = 0; i < 100; i++) plane.publishDeployment(d, d.steps);
  assert.ok(Date.now() - started < 200);
  assert.equal(logs.filter((l) => /deployment steps not published on NATS/.test(l)).length, 1, logs.join('\n'));
  await plane.stop();
});
