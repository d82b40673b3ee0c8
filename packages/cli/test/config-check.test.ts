// `fleet config check` end to end: the built bin, a real ecosystem file, no daemon.
import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const BIN = path.resolve(__dirname, '..', '..', 'bin', 'fleet.js');
const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures');
const home = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-check-'));
after(() => fs.rmSync(home, { recursive: true, force: true }));

function fleet(...args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [BIN, ...args], {
    encoding: 'utf8',
    env: { ...process.env, FLEET_HOME: home, NO_COLOR: '1' },
    timeout: 20_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('config check --json prints compiled specs with defaults, warns on stderr, starts nothing', () => {
  const r = fleet('config', 'check', path.join(FIXTURES, 'ecosystem.config.js'), '--env', 'production', '--json');
  assert.equal(r.code, 0, r.stderr);
  const specs = JSON.parse(r.stdout) as Array<Record<string, any>>;
  assert.deepEqual(specs.map((s) => s.name), ['api', 'worker']);
  const [api, worker] = specs;
  assert.equal(api.script, path.join(FIXTURES, 'server.js'));
  assert.equal(api.cwd, FIXTURES);
  assert.equal(api.execMode, 'EXEC_MODE_CLUSTER');
  assert.equal(api.instances, 2);
  assert.deepEqual(api.env, { NODE_ENV: 'production', PORT: '3000' });
  assert.equal(api.restart.maxMemoryBytes, 200 * 1024 * 1024);
  // Defaults applied, and present even when false or zero.
  assert.equal(api.killTimeoutMs, 1600);
  assert.equal(api.waitReady, false);
  assert.deepEqual(api.args, []);
  assert.equal(api.restart.maxRestarts, 16);
  assert.equal(api.log.outFile, path.join(home, 'logs', 'api-out.log'));
  assert.equal(worker.restart.autorestart, false);
  assert.equal(worker.killTimeoutMs, 5000);
  assert.match(r.stderr, /warning: .*unknown key "restart_dealy" \(did you mean "restart_delay"\?\)/);
  // Nothing started: no daemon socket appeared.
  assert.equal(fs.existsSync(path.join(home, 'fleet.sock')), false);
});

test('config check: a readable block per app', () => {
  const r = fleet('config', 'check', path.join(FIXTURES, 'ecosystem.config.js'));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^api\n {2}script\s+\S+server\.js$/m);
  assert.match(r.stdout, /^ {2}env\s+NODE_ENV=development PORT=3000$/m);
  assert.match(r.stdout, /^ {2}restart\s+no autorestart/m);
  assert.match(r.stdout, /✓ .*ecosystem\.config\.js: 2 apps, 1 warning\n$/);
});

test('config check: an invalid config exits 1 with the file, the app and a fix', () => {
  const r = fleet('config', 'check', path.join(FIXTURES, 'broken.config.js'), '--json');
  assert.equal(r.code, 1);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: .*broken\.config\.js: app "nothing-to-run": no script/m);
  assert.match(r.stderr, /^ {2}fix: /m);
});

test('config check --strict: unknown keys are errors', () => {
  const r = fleet('config', 'check', path.join(FIXTURES, 'ecosystem.config.js'), '--strict');
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^error: .*unknown key "restart_dealy"/m);
  assert.match(r.stderr, /^ {2}fix: rename "restart_dealy" to "restart_delay"$/m);
});

test('config check with a missing file fails (1); a missing argument is usage (2)', () => {
  const missing = fleet('config', 'check', path.join(FIXTURES, 'nope.config.js'));
  assert.equal(missing.code, 1, missing.stderr);
  assert.match(missing.stderr, /^error: /);
  const usage = fleet('config', 'check');
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /missing required argument 'file'/);
});

test('the bin works through a symlink, as node_modules/.bin/fleet', () => {
  const link = path.join(home, 'fleet');
  fs.symlinkSync(BIN, link);
  const r = spawnSync(process.execPath, [link, '--version'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.match(r.stdout, /^\d+\.\d+\.\d+\n$/);
});
