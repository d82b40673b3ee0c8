import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BadInputError } from '@fleet/protocol';
import { RELEASE_MARKER, ReleaseStore, STALE_PREPARE_MS } from '../../src/releases/release-store';

function tempApps(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-releases-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return path.join(dir, 'apps');
}

/** What an unpack does: write into staging, rename to the release folder. */
function unpack(store: ReleaseStore, app: string, version: number, files: Record<string, string> = {}): string {
  store.ensureAppDirs(app);
  const staging = store.stagingDir(app, version);
  fs.mkdirSync(staging);
  fs.writeFileSync(path.join(staging, 'index.js'), `// v${version}\n`);
  for (const [name, text] of Object.entries(files)) {
    fs.mkdirSync(path.dirname(path.join(staging, name)), { recursive: true });
    fs.writeFileSync(path.join(staging, name), text);
  }
  fs.renameSync(staging, store.releaseDir(app, version));
  return store.releaseDir(app, version);
}

function prepare(store: ReleaseStore, app: string, version: number): void {
  unpack(store, app, version);
  store.markComplete(app, version, `sha256:${version}`);
}

test('paths: the app folder is the name itself; names that are not one-to-one file names are refused; staging is a hidden sibling in releases/', () => {
  const apps = tempApps();
  const store = new ReleaseStore(apps);
  assert.equal(store.releaseDir('web-api.v2', 3), path.join(apps, 'web-api.v2', 'releases', 'v3'));
  assert.equal(store.stagingDir('web-api.v2', 3), path.join(apps, 'web-api.v2', 'releases', '.v3.staging'));
  // ".." would be FLEET_HOME itself; "shop:api" and "shop_api" would share one folder.
  for (const bad of ['..', '.', 'web/api', 'shop:api', '', '-x']) assert.throws(() => store.appDir(bad), BadInputError, bad);
  assert.throws(() => store.releaseDir('api', 0), BadInputError);
  assert.throws(() => store.releaseDir('api', 1.5), BadInputError);
  store.ensureAppDirs('web-api.v2');
  assert.ok(fs.statSync(path.join(apps, 'web-api.v2', 'releases')).isDirectory());
  assert.ok(fs.statSync(path.join(apps, 'web-api.v2', 'shared')).isDirectory());
  assert.deepEqual(fs.readdirSync(path.dirname(apps)).filter((f) => f === 'state.json'), [], 'nothing written beside apps/');
});

test('isComplete: false without the marker, true with it, digest checked when given', () => {
  const store = new ReleaseStore(tempApps());
  assert.equal(store.isComplete('api', 1), false);
  unpack(store, 'api', 1);
  assert.equal(store.isComplete('api', 1), false);
  store.markComplete('api', 1, 'sha256:aa');
  assert.equal(store.isComplete('api', 1), true);
  assert.equal(store.isComplete('api', 1, 'sha256:aa'), true);
  assert.equal(store.isComplete('api', 1, 'sha256:bb'), false);
  const marker = JSON.parse(fs.readFileSync(path.join(store.releaseDir('api', 1), RELEASE_MARKER), 'utf8'));
  assert.equal(marker.version, 1);
  assert.equal(typeof marker.preparedMs, 'number');
});

test('isComplete: a marker naming another version or torn JSON does not count', () => {
  const store = new ReleaseStore(tempApps());
  const dir = unpack(store, 'api', 2);
  fs.writeFileSync(path.join(dir, RELEASE_MARKER), JSON.stringify({ version: 1, digest: 'x', preparedMs: 0 }));
  assert.equal(store.isComplete('api', 2), false);
  fs.writeFileSync(path.join(dir, RELEASE_MARKER), '{"version": 2, "dig');
  assert.equal(store.isComplete('api', 2), false);
  assert.deepEqual(store.versions('api'), []);
});

test('markComplete links shared entries, replacing the artifact ones; writes through the link land in shared/', () => {
  const apps = tempApps();
  const store = new ReleaseStore(apps);
  store.ensureAppDirs('api');
  const shared = path.join(apps, 'api', 'shared');
  fs.writeFileSync(path.join(shared, '.env'), 'SECRET=1\n');
  fs.mkdirSync(path.join(shared, 'uploads'));
  const dir = unpack(store, 'api', 1, { '.env': 'FROM_ARTIFACT=1\n', 'uploads/placeholder': 'x' });
  store.markComplete('api', 1, 'd');

  assert.ok(fs.lstatSync(path.join(dir, '.env')).isSymbolicLink());
  assert.equal(fs.readlinkSync(path.join(dir, 'uploads')), path.join('..', '..', 'shared', 'uploads'));
  assert.equal(fs.readFileSync(path.join(dir, '.env'), 'utf8'), 'SECRET=1\n');
  fs.writeFileSync(path.join(dir, 'uploads', 'cat.png'), 'meow');
  assert.equal(fs.readFileSync(path.join(shared, 'uploads', 'cat.png'), 'utf8'), 'meow');
  assert.deepEqual(fs.readdirSync(path.join(shared, 'uploads')), ['cat.png']);

  // The next release sees the same shared files.
  const dir2 = unpack(store, 'api', 2);
  store.markComplete('api', 2, 'd2');
  assert.equal(fs.readFileSync(path.join(dir2, 'uploads', 'cat.png'), 'utf8'), 'meow');
});

test('switchCurrent: current resolves to the right folder after several switches, and never goes missing', () => {
  const apps = tempApps();
  const store = new ReleaseStore(apps);
  assert.equal(store.current('api'), 0);
  for (const v of [1, 2, 3]) prepare(store, 'api', v);
  const link = path.join(apps, 'api', 'current');
  for (const v of [1, 2, 3, 1, 3]) {
    store.switchCurrent('api', v);
    assert.equal(store.current('api'), v);
    assert.equal(fs.readlinkSync(link), path.join('releases', `v${v}`));
    assert.equal(fs.realpathSync(link), fs.realpathSync(store.releaseDir('api', v)));
    assert.equal(fs.readFileSync(path.join(link, 'index.js'), 'utf8'), `// v${v}\n`);
    assert.equal(store.state('api').running, v);
  }
  // No temp links left beside it.
  assert.deepEqual(fs.readdirSync(path.join(apps, 'api')).sort(), ['current', 'releases', 'shared', 'state.json']);
});

test('switchCurrent: a reader racing the switches always finds `current`', async () => {
  const apps = tempApps();
  const store = new ReleaseStore(apps);
  for (const v of [1, 2]) prepare(store, 'api', v);
  store.switchCurrent('api', 1);
  const link = path.join(apps, 'api', 'current');
  const { Worker } = await import('node:worker_threads');
  // The reader runs in another thread so it interleaves with the renames.
  const reader = new Worker(
    `const fs = require('node:fs'); const { parentPort, workerData } = require('node:worker_threads');
     let misses = 0, reads = 0; const end = Date.now() + 300;
     while (Date.now() < end) { try { fs.readFileSync(workerData + '/index.js'); reads++; } catch { misses++; } }
     parentPort.postMessage({ misses, reads });`,
    { eval: true, workerData: link },
  );
  const result = new Promise<{ misses: number; reads: number }>((resolve) => reader.once('message', resolve));
  let done = false;
  void result.then(() => (done = true));
  let switches = 0;
  while (!done) {
    store.switchCurrent('api', (switches++ % 2) + 1);
    await new Promise((r) => setImmediate(r));
  }
  const { misses, reads } = await result;
  assert.ok(reads > 0 && switches > 10, `reads ${reads}, switches ${switches}`);
  assert.equal(misses, 0);
});

test('switchCurrent refuses a release that is not complete', () => {
  const store = new ReleaseStore(tempApps());
  unpack(store, 'api', 1);
  assert.throws(() => store.switchCurrent('api', 1), BadInputError);
  assert.throws(() => store.switchCurrent('api', 2), BadInputError);
  assert.equal(store.current('api'), 0);
});

test('state: defaults to zeros, markGood keeps running, switch keeps lastGood', () => {
  const apps = tempApps();
  const store = new ReleaseStore(apps);
  assert.deepEqual(store.state('api'), { running: 0, lastGood: 0 });
  prepare(store, 'api', 1);
  prepare(store, 'api', 2);
  store.switchCurrent('api', 1);
  store.markGood('api', 1);
  store.switchCurrent('api', 2);
  assert.deepEqual(store.state('api'), { running: 2, lastGood: 1 });
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(apps, 'api', 'state.json'), 'utf8')), { running: 2, lastGood: 1 });
});

test('versions: complete releases only, ascending (numeric, not by name)', () => {
  const store = new ReleaseStore(tempApps());
  for (const v of [10, 2, 9]) prepare(store, 'api', v);
  unpack(store, 'api', 11); // no marker
  fs.mkdirSync(store.stagingDir('api', 12));
  assert.deepEqual(store.versions('api'), [2, 9, 10]);
  assert.deepEqual(store.versions('other'), []);
});

test('remove discards a release and its staging folder', () => {
  const store = new ReleaseStore(tempApps());
  prepare(store, 'api', 1);
  fs.mkdirSync(store.stagingDir('api', 1));
  store.remove('api', 1);
  assert.equal(fs.existsSync(store.releaseDir('api', 1)), false);
  assert.equal(fs.existsSync(store.stagingDir('api', 1)), false);
  store.remove('api', 1); // already gone: fine
});

test('prune keeps the newest N plus the running and the last good release', () => {
  const apps = tempApps();
  const store = new ReleaseStore(apps);
  for (let v = 1; v <= 7; v++) prepare(store, 'api', v);
  store.switchCurrent('api', 2);
  store.markGood('api', 2);
  store.switchCurrent('api', 3); // running 3, last good 2: a rollback in progress, say
  assert.deepEqual(store.prune('api', 2), [1, 4, 5]);
  assert.deepEqual(store.versions('api'), [2, 3, 6, 7]);
  assert.equal(store.current('api'), 3);
  assert.equal(fs.readFileSync(path.join(apps, 'api', 'current', 'index.js'), 'utf8'), '// v3\n');
  assert.deepEqual(store.prune('api', 2), []);
});

test('prune never removes the folder `current` points to, even if state.json lost it', () => {
  const apps = tempApps();
  const store = new ReleaseStore(apps);
  for (let v = 1; v <= 4; v++) prepare(store, 'api', v);
  store.switchCurrent('api', 1);
  fs.rmSync(path.join(apps, 'api', 'state.json'));
  assert.deepEqual(store.prune('api', 1), [2, 3]);
  assert.deepEqual(store.versions('api'), [1, 4]);
});

test('prune removes leftover prepares only once they are stale', () => {
  const store = new ReleaseStore(tempApps());
  prepare(store, 'api', 1);
  fs.mkdirSync(store.stagingDir('api', 2));
  unpack(store, 'api', 3); // renamed but never marked
  const unpackTemp = path.join(path.dirname(store.releaseDir('api', 4)), 'v4.unpacking-0a1b'); // a crashed unpacker's
  fs.mkdirSync(unpackTemp);
  const now = Date.now();
  store.prune('api', 5, now);
  assert.ok(fs.existsSync(store.stagingDir('api', 2)), 'a fresh staging folder may be an unpack under way');
  assert.ok(fs.existsSync(store.releaseDir('api', 3)));
  assert.ok(fs.existsSync(unpackTemp));
  assert.deepEqual(store.prune('api', 5, now + STALE_PREPARE_MS + 1000), []);
  assert.equal(fs.existsSync(store.stagingDir('api', 2)), false);
  assert.equal(fs.existsSync(store.releaseDir('api', 3)), false);
  assert.equal(fs.existsSync(unpackTemp), false);
  assert.deepEqual(store.versions('api'), [1]);
});
