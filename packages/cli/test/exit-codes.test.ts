import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { BadInputError, NotFoundError, UnavailableError } from '@fleet/protocol';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, reportError } from '../src/exit-codes';
import { UsageError } from '../src/usage-error';
import { runFleet } from './helpers';

// None of these reach a daemon: FLEET_HOME points nowhere and spawning throws.
const usage: string[][] = [
  ['start', 'app.js', '-i', '0'],
  ['start', 'app.js', '-i', 'lots'],
  ['start', 'app.js', '--max-memory-restart', 'lots'],
  ['start', 'app.js', '--kill-timeout', 'soon'],
  ['start', 'app.js', '--max-restarts', '-3'],
  ['start'],
  ['ls', '--bogus'],
  ['frobnicate'],
  ['stop'],
  ['scale', 'api', 'lots'],
  ['scale', 'api', '+x'],
  ['logs', '--lines', 'many'],
  ['config'],
  [],
];

for (const args of usage) {
  test(`bad usage exits 2: fleet ${args.join(' ')}`, async () => {
    const r = await runFleet(args);
    assert.equal(r.code, EXIT_USAGE, r.stderr);
    assert.equal(r.stdout, '');
    assert.notEqual(r.stderr, '');
  });
}

test('usage errors say what failed and how to fix it', async () => {
  const r = await runFleet(['start', 'app.js', '-i', '0']);
  assert.match(r.stderr, /^error: option '-i, --instances <n>' argument '0' is invalid/m);
  assert.match(r.stderr, /^ {2}fix: run "fleet start --help" for usage$/m);
  const s = await runFleet(['scale', 'api', 'lots']);
  assert.match(s.stderr, /^error: invalid instance count 'lots'\n {2}fix: use a number/m);
});

test('--help and --version exit 0 on stdout', async () => {
  const h = await runFleet(['--help']);
  assert.equal(h.code, EXIT_OK);
  assert.match(h.stdout, /Usage: fleet/);
  const sh = await runFleet(['start', '--help']);
  assert.equal(sh.code, EXIT_OK);
  assert.match(sh.stdout, /--max-memory-restart <size>/);
  const v = await runFleet(['--version']);
  assert.equal(v.code, EXIT_OK);
  assert.match(v.stdout, /^\d+\.\d+\.\d+/);
});

test('error mapping: fleet errors are 1 with their hint, usage errors 2', () => {
  const nf = reportError(new NotFoundError('app "x" not found', { hint: 'see fleet ls' }));
  assert.deepEqual(nf, { code: EXIT_FAILED, text: 'error: app "x" not found\n  fix: see fleet ls\n' });
  assert.equal(reportError(new BadInputError('bad config')).code, EXIT_FAILED);
  assert.equal(reportError(new UnavailableError('gone')).text, 'error: gone\n');
  assert.equal(reportError(new UsageError('nope')).code, EXIT_USAGE);
  assert.equal(reportError(new Error('boom')).code, EXIT_FAILED);
});

test('kill with no daemon running: a message and exit 0', async () => {
  const r = await runFleet(['kill']);
  assert.equal(r.code, EXIT_OK);
  assert.equal(r.stdout, 'no daemon running\n');
  const j = await runFleet(['kill', '--json']);
  assert.deepEqual(JSON.parse(j.stdout), { killed: false, pid: 0, stoppedApps: 0 });
});

test('ping with no daemon running fails (1) and starts nothing', async () => {
  const r = await runFleet(['ping']);
  assert.equal(r.code, EXIT_FAILED);
  assert.match(r.stderr, /^error: no daemon running on .*fleet\.sock\n {2}fix: /);
});
