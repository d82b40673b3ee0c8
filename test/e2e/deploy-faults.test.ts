// fleet deploy when things go wrong: a release that cannot start, one whose
// health check fails, a second deploy of the same app, the controller killed
// mid-rollout, an agent killed mid-rollout. A real controller and three real
// agents; the tests run in order on one cluster, each starting from the last
// good release the one before left running.
import { strict as assert } from 'node:assert';
import { after, before, describe, test } from 'node:test';
import { DeployFleet, describeDeployment, FleetLoad, isEnded, phases, setMarker, setVersion } from '../deploy-helpers';

const HOSTS = ['web1', 'web2', 'web3'];
const ALL = HOSTS.join(',');

describe('fleet deploy faults on three hosts', { timeout: 240_000 }, () => {
  const f = new DeployFleet(HOSTS);
  let app = '';
  /** The release every host should be back on after a failed deploy. */
  let good = 'v1';

  before(async () => {
    await f.start();
    app = f.appCopy('v1');
    const r = f.c.fleet(['deploy', 'api', '--hosts', ALL, '--batch', '3'], { cwd: app });
    assert.equal(r.code, 0, `${r.stderr}\n${r.stdout}`);
    await f.waitAll('v1');
  });
  after(() => f.c.cleanup());

  /** Releases `version` (the app answers it) with the app's files as the test set them. */
  const release = (version: string, marker?: 'CRASH' | 'UNHEALTHY'): void => {
    setVersion(app, version);
    setMarker(app, 'CRASH', marker === 'CRASH');
    setMarker(app, 'UNHEALTHY', marker === 'UNHEALTHY');
  };

  const assertBackOnGood = async (version: number): Promise<void> => {
    assert.deepEqual(await f.answers(), { web1: good, web2: good, web3: good }, `every host serves ${good} again`);
    const rel = await f.releases();
    assert.deepEqual(rel.releases.find((x) => x.version === version)?.state, 'RELEASE_STATE_FAILED', `v${version} is recorded failed`);
    const goodVersion = Number(good.slice(1));
    assert.deepEqual(rel.hosts.map((h) => [h.host, h.version]).sort(), HOSTS.map((h) => [h, goodVersion]));
  };

  test('a release that crashes at start stops at the first host, which goes back; no request lost', async () => {
    release('v2', 'CRASH');
    const load = await new FleetLoad(f.ports).start();
    const { r, d } = await f.deployJson(app, ['--batch', '1', '--healthy-deadline', '10s']);
    await load.settle();
    const { total } = await load.stop();

    assert.equal(r.code, 1, `a failed deploy exits 1:\n${describeDeployment(d)}`);
    assert.equal(d.version, 2);
    assert.equal(d.state, 'DEPLOYMENT_STATE_ROLLED_BACK', describeDeployment(d));
    assert.deepEqual(phases(d), { web1: 'rolled_back', web2: 'skipped', web3: 'skipped' }, describeDeployment(d));
    assert.deepEqual(d.hosts.map((h) => h.switched), [true, false, false]);
    assert.match(d.reason, /^web1: /, 'the reason names the first host');
    assert.match(d.reason, /exited \(code 3\) before it was ready/, 'and why: the new process died at start');
    assert.ok(!d.steps.some((s) => s.host !== '' && s.host !== 'web1' && /switch/.test(s.message)), `only web1 was switched:\n${describeDeployment(d)}`);
    assert.equal(total.failed, 0, `failed requests: ${JSON.stringify(total.errors)} of ${total.ok}`);
    assert.ok(!total.bodies.has('v2'), 'the crashing release never answered');
    await assertBackOnGood(2);
    const table = await f.c.fleetAsync(['releases', 'api']);
    assert.match(table.stdout, /^v2\s+failed\s/m, table.stdout);
    assert.match(table.stdout, /^v1\s+good\s.*web1,web2,web3\s*$/m, table.stdout);
  });

  test('a release whose health check fails is rolled back at the healthy deadline, naming health; no request lost', async () => {
    release('v3', 'UNHEALTHY');
    const load = await new FleetLoad(f.ports).start();
    const { r, d } = await f.deployJson(app, ['--batch', '1', '--healthy-deadline', '4s']);
    await load.settle();
    const { total } = await load.stop();

    assert.equal(r.code, 1, `a failed deploy exits 1:\n${describeDeployment(d)}`);
    assert.equal(d.state, 'DEPLOYMENT_STATE_ROLLED_BACK', describeDeployment(d));
    assert.deepEqual(phases(d), { web1: 'rolled_back', web2: 'skipped', web3: 'skipped' }, describeDeployment(d));
    assert.match(d.reason, /^web1: not healthy within healthy_deadline \(4 s\)/, describeDeployment(d));
    assert.match(d.reason, /\/health answered 500/, 'the report names the failing health check');
    assert.ok(d.steps.some((s) => s.host === 'web1' && /^not healthy within healthy_deadline/.test(s.message)), describeDeployment(d));
    assert.ok(total.bodies.has('v3'), 'the unhealthy release did serve / while it was verified');
    assert.equal(total.failed, 0, `failed requests: ${JSON.stringify(total.errors)} of ${total.ok}`);
    await assertBackOnGood(3);
  });

  test('one deployment per app: a second deploy while one runs is refused, naming the running one', async () => {
    release('v4');
    const first = await f.deployJson(app, ['--batch', '1', '--min-healthy-time', '20s', '--detach']);
    assert.equal(first.r.code, 0, first.r.stderr);
    const id = first.d.id;
    await f.waitStatus(id, (d) => d.hosts[0].phase === 'HOST_PHASE_VERIFYING', 'web1 to be verifying v4');
    const releasesBefore = (await f.releases()).releases.length;

    setVersion(app, 'v4b');
    const second = await f.deploy(app, []);
    assert.equal(second.code, 1, second.stderr + second.stdout);
    assert.match(second.stderr, new RegExp(`deployment ${id} of api \\(v4\\) is running: one deployment per app at a time`));
    assert.match(second.stderr, new RegExp(`fleet deploy cancel ${id}`));
    assert.equal((await f.releases()).releases.length, releasesBefore, 'the refused deploy recorded no release');
    assert.equal((await f.status(id)).state, 'DEPLOYMENT_STATE_RUNNING', 'the first one goes on');

    // Cancelled: web1 goes back, the others were never touched.
    const cancel = await f.c.fleetAsync(['deploy', 'cancel', id]);
    assert.equal(cancel.code, 0, cancel.stderr);
    const d = await f.waitStatus(id, isEnded, 'the cancelled deployment to end');
    assert.equal(d.state, 'DEPLOYMENT_STATE_CANCELLED', describeDeployment(d));
    assert.deepEqual(phases(d), { web1: 'rolled_back', web2: 'skipped', web3: 'skipped' }, describeDeployment(d));
    await assertBackOnGood(4);
  });

  test('the controller killed mid-deploy: the restarted one resumes the rollout; no host ever without a ready instance', async () => {
    release('v5');
    const load = await new FleetLoad(f.ports).start();
    const started = await f.deployJson(app, ['--batch', '1', '--min-healthy-time', '1500ms', '--detach']);
    assert.equal(started.r.code, 0, started.r.stderr);
    const id = started.d.id;
    // web1 healthy, web2 switching or verifying: mid-rollout.
    const mid = await f.waitStatus(id, (d) => d.hosts[0].phase === 'HOST_PHASE_HEALTHY', 'web1 to be healthy on v5');
    assert.ok(!isEnded(mid), describeDeployment(mid));
    await f.c.killController('SIGKILL');
    await f.c.startController();
    const d = await f.waitStatus(id, isEnded, 'the resumed deployment to end', 60_000);
    await f.waitAll('v5');
    await load.settle();
    const { total } = await load.stop();

    assert.equal(d.state, 'DEPLOYMENT_STATE_SUCCEEDED', `${describeDeployment(d)}\n${f.logs()}`);
    assert.ok(d.steps.some((s) => s.message === 'controller restarted: resuming'), describeDeployment(d));
    assert.deepEqual(phases(d), { web1: 'healthy', web2: 'healthy', web3: 'healthy' });
    assert.equal(total.failed, 0, `failed requests: ${JSON.stringify(total.errors)} of ${total.ok}`);
    // What a user runs afterwards: the text report says it ended.
    const shown = await f.c.fleetAsync(['deploy', 'status', id]);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, new RegExp(`deployment ${id}\\s+api v5\\s+succeeded`));
    const rel = await f.releases();
    assert.equal(rel.releases.find((x) => x.version === 5)?.state, 'RELEASE_STATE_GOOD');
    good = 'v5';
  });

  test('an agent killed mid-deploy fails the deployment naming its host; the switched host goes back', async () => {
    release('v6');
    const started = await f.deployJson(app, ['--batch', '1', '--min-healthy-time', '3s', '--detach']);
    assert.equal(started.r.code, 0, started.r.stderr);
    const id = started.d.id;
    await f.waitStatus(id, (d) => d.hosts[0].phase === 'HOST_PHASE_VERIFYING', 'web1 to be verifying v6');
    await f.c.killAgent('web2', 'SIGKILL');
    const d = await f.waitStatus(id, isEnded, 'the deployment to end', 30_000);

    assert.ok(['DEPLOYMENT_STATE_ROLLED_BACK', 'DEPLOYMENT_STATE_FAILED'].includes(d.state), describeDeployment(d));
    assert.match(d.reason, /^web2: /, `the reason names web2:\n${describeDeployment(d)}`);
    const p = phases(d);
    assert.equal(p.web1, 'rolled_back', describeDeployment(d));
    assert.equal(p.web3, 'skipped', describeDeployment(d));
    // web1 back on the last good release; web2's app outlives its agent, never switched.
    assert.deepEqual(await f.answers(), { web1: good, web2: good, web3: good });
    const rel = await f.releases();
    assert.equal(rel.releases.find((x) => x.version === 6)?.state, 'RELEASE_STATE_FAILED');
    await f.c.restartAgent('web2');
  });

  test('with auto rollback off, a failed switch still leaves the app set to the release that serves', async () => {
    release('v7', 'CRASH');
    const { r, d } = await f.deployJson(app, ['--hosts', 'web1', '--no-auto-rollback', '--healthy-deadline', '10s']);
    assert.equal(r.code, 1, describeDeployment(d));
    assert.equal(d.state, 'DEPLOYMENT_STATE_FAILED', describeDeployment(d));
    assert.deepEqual(await f.answers(), { web1: good, web2: good, web3: good }, 'the old instances keep serving');
    // What the next crash or reboot would start: the good release, not v7.
    const shown = await f.c.fleetAsync(['describe', 'api', '--hosts', 'web1', '--json']);
    assert.equal(shown.code, 0, shown.stderr);
    const [info] = JSON.parse(shown.stdout) as { spec: { release: number; script: string } }[];
    assert.equal(info.spec.release, Number(good.slice(1)), shown.stdout);
    assert.match(info.spec.script, new RegExp(`releases/${good}/server\\.js$`));
  });
});
