// fleet deploy end to end: a real controller and three real agents on loopback,
// each host's app on its own port, released from a copy of
// test/fixtures/deploy-app by the real CLI. One cluster for the file; the tests
// run in order, each leaving it as the next expects.
import { strict as assert } from 'node:assert';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { after, before, describe, test } from 'node:test';
import { DeployRequest, type DeployResponse, type ReleasesResponse } from '@fleet/protocol';
import * as tar from 'tar';
import {
  DEPLOY_APP,
  DeployFleet,
  type DeploymentJson,
  describeDeployment,
  FleetLoad,
  isEnded,
  phases,
  setVersion,
} from '../deploy-helpers';

const HOSTS = ['web1', 'web2', 'web3'];
const ALL = HOSTS.join(',');

describe('fleet deploy across three hosts', { timeout: 180_000 }, () => {
  const f = new DeployFleet(HOSTS);
  let app = '';
  let installLog = '';
  let v2Deployment = '';
  /** `--install` that appends the host's PORT to one file: how many installs ran, and where. */
  const install = (): string[] => ['--install', `echo "$PORT" >> ${installLog}`];
  const installs = (): string[] => (fs.existsSync(installLog) ? fs.readFileSync(installLog, 'utf8').trim().split('\n').filter(Boolean) : []);
  const artifacts = (): string[] => {
    const dir = path.join(f.c.dir, 'data', 'artifacts');
    return fs.existsSync(dir) ? fs.readdirSync(dir).filter((n) => n.endsWith('.tar.gz')).sort() : [];
  };

  before(async () => {
    await f.start();
    app = f.appCopy('v1');
    installLog = path.join(f.c.dir, 'install-log');
  });
  after(() => f.c.cleanup());

  test('bad input is refused with exit 1 and records no release', () => {
    const unknownHost = f.c.fleet(['deploy', 'api', '--hosts', 'nope'], { cwd: app });
    assert.equal(unknownHost.code, 1, unknownHost.stderr + unknownHost.stdout);
    assert.match(unknownHost.stderr, /unknown host nope/);
    assert.match(unknownHost.stderr, /web1, web2, web3/, 'names the hosts there are');

    const noMatch = f.c.fleet(['deploy', 'api', '--selector', 'role=none'], { cwd: app });
    assert.equal(noMatch.code, 1, noMatch.stderr + noMatch.stdout);
    assert.match(noMatch.stderr, /no host matches --selector role=none/);

    const unknownApp = f.c.fleet(['deploy', 'web', '--hosts', ALL], { cwd: app });
    assert.equal(unknownApp.code, 1, unknownApp.stderr + unknownApp.stdout);
    assert.match(unknownApp.stderr, /ecosystem\.config\.js has no app named web/);
    assert.match(unknownApp.stderr, /its apps: api/);

    // The entry script is ignored by .gitignore: caught on the laptop, before any upload.
    const ignored = f.appCopy('v1');
    fs.writeFileSync(path.join(ignored, '.gitignore'), 'server.js\n');
    const stored = artifacts();
    const missing = f.c.fleet(['deploy', 'api', '--hosts', ALL], { cwd: ignored });
    assert.equal(missing.code, 1, missing.stderr + missing.stdout);
    assert.match(missing.stderr, /the app's script server\.js is not in the artifact/);
    assert.match(missing.stderr, /\.gitignore/);
    assert.doesNotMatch(missing.stderr, /uploading/);
    assert.deepEqual(artifacts(), stored, 'nothing was uploaded');

    const none = f.c.fleet(['releases', 'api']);
    assert.equal(none.code, 1, `no release may be recorded: ${none.stdout}`);
    assert.match(none.stderr, /api has no releases/);
    const status = f.c.fleet(['deploy', 'status', 'api']);
    assert.equal(status.code, 1, `no deployment may be recorded: ${status.stdout}`);
    assert.match(status.stderr, /api was never deployed/);
    for (const h of HOSTS) assert.equal(f.c.onHost(h, ['ls', '--json']).json<unknown[]>().length, 0, `nothing started on ${h}`);
  });

  test('v1 then v2, one host at a time, under keep-alive load on every host: no request lost', async () => {
    const first = await f.deployJson(app, ['--hosts', ALL, ...install()]);
    assert.equal(first.r.code, 0, `${first.r.stderr}\n${describeDeployment(first.d)}`);
    assert.equal(first.d.state, 'DEPLOYMENT_STATE_SUCCEEDED');
    assert.equal(first.d.version, 1);
    await f.waitAll('v1');

    const load = await new FleetLoad(f.ports).start();
    setVersion(app, 'v2');
    // No --hosts: a deploy goes to the hosts that run the app.
    const { r, d } = await f.deployJson(app, ['--batch', '1', ...install()]);
    await load.settle();
    const latest = load.latest();
    const { total } = await load.stop();

    assert.equal(r.code, 0, `${r.stderr}\n${describeDeployment(d)}`);
    assert.equal(d.state, 'DEPLOYMENT_STATE_SUCCEEDED', describeDeployment(d));
    assert.equal(d.version, 2);
    v2Deployment = d.id;
    assert.deepEqual(d.hosts.map((h) => h.name), HOSTS);
    assert.deepEqual(phases(d), { web1: 'healthy', web2: 'healthy', web3: 'healthy' });
    assert.deepEqual(d.hosts.map((h) => h.previousVersion), [1, 1, 1]);

    assert.equal(total.failed, 0, `failed requests: ${JSON.stringify(total.errors)} of ${total.ok}`);
    assert.ok(total.ok > 300, `only ${total.ok} requests went through`);
    assert.deepEqual([...total.bodies].sort(), ['v1', 'v2'], 'the load saw v1, then v2');
    assert.deepEqual(latest, { web1: ['v2'], web2: ['v2'], web3: ['v2'] }, 'after the deploy every client gets v2');
    assert.deepEqual(await f.answers(), { web1: 'v2', web2: 'v2', web3: 'v2' });
    // Batch 1: there was a moment when web1 served v2 and web3 still v1.
    const rolling = load.samples.some((s) => s.web1.join() === 'v2' && s.web3.join() === 'v1');
    assert.ok(rolling, 'no sample showed web1 on v2 while web3 was on v1: not a rolling deploy');
    const order = HOSTS.map((h) => d.steps.findIndex((s) => s.host === h && /^switching to v2/.test(s.message)));
    assert.ok(order.every((i, n) => i >= 0 && (n === 0 || i > order[n - 1])), `switch order: ${order}`);

    const rel = await f.releases();
    assert.deepEqual(rel.releases.map((x) => [x.version, x.state]), [
      [1, 'RELEASE_STATE_GOOD'],
      [2, 'RELEASE_STATE_GOOD'],
    ]);
    assert.deepEqual(rel.hosts.map((h) => [h.host, h.version]).sort(), [['web1', 2], ['web2', 2], ['web3', 2]]);
    assert.equal(installs().length, 6, `one install per host per release: ${installs()}`);
  });

  test('rollback to v1 is instant: no download, no install, every host on v1, no request lost', async () => {
    const installsBefore = installs().length;
    const load = await new FleetLoad(f.ports).start();
    const t0 = Date.now();
    const r = await f.c.fleetAsync(['rollback', 'api', '--to', 'v1', '--json']);
    const took = Date.now() - t0;
    const answers = await f.answers();
    await load.settle();
    const { total } = await load.stop();

    const d = r.json<{ deployment: DeploymentJson }>().deployment;
    assert.equal(r.code, 0, `${r.stderr}\n${describeDeployment(d)}`);
    assert.equal(d.rollback, true);
    assert.equal(d.version, 1);
    assert.equal(d.state, 'DEPLOYMENT_STATE_SUCCEEDED', describeDeployment(d));
    assert.deepEqual(answers, { web1: 'v1', web2: 'v1', web3: 'v1' }, 'every host answers v1 as soon as rollback returns');
    assert.ok(took < 8000, `rollback took ${took} ms`);
    for (const h of HOSTS) {
      assert.ok(d.steps.some((s) => s.host === h && s.message === 'v1 already on the host'), `${h} did not find v1 on the host:\n${describeDeployment(d)}`);
    }
    assert.ok(!d.steps.some((s) => /download/.test(s.message)), `a rollback downloaded:\n${describeDeployment(d)}`);
    assert.equal(installs().length, installsBefore, 'a rollback runs no install');
    assert.equal(total.failed, 0, `failed requests: ${JSON.stringify(total.errors)} of ${total.ok}`);

    const rel = await f.releases();
    assert.deepEqual(rel.hosts.map((h) => [h.host, h.version]).sort(), [['web1', 1], ['web2', 1], ['web3', 1]]);
    assert.deepEqual(rel.releases.map((x) => [x.version, x.state]), [
      [1, 'RELEASE_STATE_GOOD'],
      [2, 'RELEASE_STATE_GOOD'],
    ], 'a rollback is no new release and leaves v2 good');
  });

  test('an artifact with a ../ entry is refused at prepare: nothing switched, nothing written outside', async () => {
    const tag = `escaped-${randomBytes(4).toString('hex')}`;
    const bytes = craftedArtifact([
      { path: 'ecosystem.config.js', body: fs.readFileSync(path.join(DEPLOY_APP, 'ecosystem.config.js'), 'utf8') },
      { path: 'server.js', body: fs.readFileSync(path.join(DEPLOY_APP, 'server.js'), 'utf8') },
      { path: 'VERSION', body: 'v3\n' },
      { path: `../../${tag}.txt`, body: 'owned\n' },
    ]);
    const digest = createHash('sha256').update(bytes).digest('hex');
    assert.equal((await f.uploadRaw(digest, bytes)).present, true);

    const { client, md } = f.rawClient();
    let started: DeploymentJson;
    try {
      const rel = await new Promise<ReleasesResponse>((res, rej) => client.releases({ app: 'api' }, md, (e, v) => (e ? rej(e) : res(v))));
      const spec = rel.releases.find((x) => x.version === 1)!.spec!;
      const req = DeployRequest.fromPartial({ app: 'api', spec, artifact: { digest, sizeBytes: bytes.length }, strategy: { minHealthyMs: 500 } });
      const res = await new Promise<DeployResponse>((ok, fail) => client.deploy(req, md, (e, v) => (e ? fail(e) : ok(v))));
      started = res.deployment as unknown as DeploymentJson;
    } finally {
      client.close();
    }
    assert.equal(started.version, 3);
    const d = await f.waitStatus(started.id, isEnded, 'the crafted deployment to end');

    assert.equal(d.state, 'DEPLOYMENT_STATE_FAILED', describeDeployment(d));
    assert.match(d.reason, /preparing v3 failed: the artifact has an entry that escapes the release folder/, describeDeployment(d));
    assert.ok(d.reason.includes(`../../${tag}.txt`), `the reason names the entry: ${d.reason}`);
    for (const h of d.hosts) {
      assert.equal(h.switched, false, `${h.name} was switched:\n${describeDeployment(d)}`);
      assert.ok(['HOST_PHASE_FAILED', 'HOST_PHASE_SKIPPED'].includes(h.phase), `${h.name} ${h.phase}`);
    }
    assert.ok(!d.steps.some((s) => /switching/.test(s.message)), describeDeployment(d));
    assert.deepEqual(await f.answers(), { web1: 'v1', web2: 'v1', web3: 'v1' });

    // Nothing landed anywhere: not beside the release, not in the host's home, not in the cluster's folder.
    const hits: string[] = [];
    const walk = (dir: string, depth: number): void => {
      for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
        const p = path.join(dir, e.name);
        if (e.name.includes(tag)) hits.push(p);
        if (e.isDirectory() && !e.isSymbolicLink() && depth < 12 && e.name !== 'node_modules') walk(p, depth + 1);
      }
    };
    walk(f.c.dir, 0);
    assert.deepEqual(hits, [], 'a file from the crafted artifact was written');
    for (const h of HOSTS) {
      const releases = fs.readdirSync(path.join(f.c.hostHome(h), 'apps', 'api', 'releases')).sort();
      assert.deepEqual(releases, ['v1', 'v2'], `${h}: no v3 and no half-unpacked staging folder`);
    }
    const rel = await f.releases();
    assert.deepEqual(rel.releases.map((x) => [x.version, x.state]).at(-1), [3, 'RELEASE_STATE_FAILED']);
    assert.deepEqual(rel.hosts.map((h) => [h.host, h.version]).sort(), [['web1', 1], ['web2', 1], ['web3', 1]]);
  });

  // `deploy` has its own --json: the subcommand's must still be the subcommand's.
  test('fleet deploy status <id|app> --json prints JSON', () => {
    assert.ok(v2Deployment, 'needs the v2 deployment of the test above');
    for (const target of [v2Deployment, 'api']) {
      const r = f.c.fleet(['deploy', 'status', target, '--json']);
      assert.equal(r.code, 0, r.stderr);
      let parsed: { deployments: DeploymentJson[] } | undefined;
      try {
        parsed = JSON.parse(r.stdout) as { deployments: DeploymentJson[] };
      } catch {
        assert.fail(`fleet deploy status ${target} --json printed no JSON:\n${r.stdout}`);
      }
      assert.ok(parsed.deployments.some((x) => x.id === (target === 'api' ? x.id : v2Deployment)));
    }
  });
});

/** A .tar.gz written header by header, so an entry can say `../x` (tar's writer would refuse or clean it). */
function craftedArtifact(entries: { path: string; body: string }[]): Buffer {
  const blocks: Buffer[] = [];
  for (const e of entries) {
    const body = Buffer.from(e.body);
    const header = new tar.Header({ path: e.path, type: 'File', size: body.length, mode: 0o644, mtime: new Date('2000-01-01T00:00:00Z') });
    const block = Buffer.alloc(512);
    header.encode(block, 0);
    blocks.push(block, body, Buffer.alloc((512 - (body.length % 512)) % 512));
  }
  blocks.push(Buffer.alloc(1024));
  return zlib.gzipSync(Buffer.concat(blocks));
}
