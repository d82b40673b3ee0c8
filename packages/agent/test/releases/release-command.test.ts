import { after, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OutputTail, runReleaseCommand } from '../../src/releases/release-command';

function tempDir(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-release-cmd-'));
  after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

const base = () => ({ cwd: tempDir(), env: { PATH: process.env.PATH, GREETING: 'hi' }, timeoutMs: 10_000 });

/**
 * Dead, as far as a test can tell. An orphan is reparented to PID 1, and where
 * PID 1 does not reap (some containers and micro-VMs), it stays a zombie that
 * process.kill(pid, 0) still finds; a zombie runs nothing, so it counts.
 */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

async function waitFor(cond: () => boolean, what: string, timeoutMs = 4000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

function pidsIn(output: string): number[] {
  return [...output.matchAll(/pid=(\d+)/g)].map((m) => Number(m[1]));
}

test('runs in cwd with the given env and collects stdout and stderr interleaved', async () => {
  const opts = base();
  const r = await runReleaseCommand('echo "$GREETING from $(pwd)"; echo oops >&2; sleep 0.05; echo done', opts);
  assert.equal(r.exitCode, 0);
  assert.equal(r.timedOut, false);
  assert.equal(r.output, `hi from ${fs.realpathSync(opts.cwd)}\noops\ndone\n`);
});

test('reports a non-zero exit code', async () => {
  const r = await runReleaseCommand('echo migrating; exit 3', base());
  assert.deepEqual(r, { exitCode: 3, output: 'migrating\n', timedOut: false });
});

test('a command killed by a signal reports 128 + its number', async () => {
  const r = await runReleaseCommand('kill -KILL $$', base());
  assert.equal(r.exitCode, 128 + 9);
});

test('keeps only the last outputLimitBytes of a chatty command', async () => {
  // ~600 KB of numbered lines, in many chunks.
  const r = await runReleaseCommand('i=0; while [ $i -lt 60000 ]; do echo "line $i"; i=$((i+1)); done', {
    ...base(),
    outputLimitBytes: 1000,
  });
  assert.equal(r.exitCode, 0);
  assert.equal(Buffer.byteLength(r.output), 1000);
  assert.ok(r.output.endsWith('line 59998\nline 59999\n'));
  const r2 = await runReleaseCommand('i=0; while [ $i -lt 20000 ]; do echo "line $i"; i=$((i+1)); done', base());
  assert.equal(Buffer.byteLength(r2.output), 64 * 1024);
  assert.ok(r2.output.endsWith('line 19999\n'));
});

test('timeout kills the whole group, grandchildren included, and resolves quickly', async () => {
  const started = Date.now();
  const r = await runReleaseCommand(`sh -c 'sleep 30 & echo pid=$!; sleep 30'`, { ...base(), timeoutMs: 300 });
  assert.equal(r.timedOut, true);
  assert.equal(r.exitCode, 128 + 15);
  assert.ok(Date.now() - started < 2000, `took ${Date.now() - started} ms`);
  const [grandchild] = pidsIn(r.output);
  assert.ok(grandchild, r.output);
  await waitFor(() => isGone(grandchild), `grandchild ${grandchild} to die`);
});

test('a group that ignores SIGTERM gets SIGKILL after the grace', async () => {
  const started = Date.now();
  const r = await runReleaseCommand(`trap '' TERM; sh -c 'sleep 30 & echo pid=$!; wait'`, {
    ...base(),
    timeoutMs: 200,
    killGraceMs: 300,
  });
  const took = Date.now() - started;
  assert.equal(r.timedOut, true);
  assert.equal(r.exitCode, 128 + 9);
  assert.ok(took >= 450 && took < 3000, `took ${took} ms`);
  const [grandchild] = pidsIn(r.output);
  await waitFor(() => isGone(grandchild), `grandchild ${grandchild} to die`);
});

test('what the command leaves running in its group is stopped when it exits', async () => {
  const started = Date.now();
  const r = await runReleaseCommand(`sleep 30 & echo pid=$!; exit 0`, base());
  assert.equal(r.exitCode, 0);
  assert.equal(r.timedOut, false);
  assert.ok(Date.now() - started < 2000);
  const [leftover] = pidsIn(r.output);
  await waitFor(() => isGone(leftover), `leftover ${leftover} to die`);
});

test('rejects when the shell cannot start (missing cwd)', async () => {
  await assert.rejects(runReleaseCommand('true', { ...base(), cwd: path.join(tempDir(), 'nope') }), /cannot run/);
});

test('OutputTail keeps the last bytes and never starts inside a UTF-8 character', () => {
  const t = new OutputTail(5);
  t.push(Buffer.from('abc'));
  t.push(Buffer.from('defg'));
  t.push(Buffer.from('h'));
  assert.equal(t.text(), 'defgh');
  const u = new OutputTail(4);
  u.push(Buffer.from('xé€')); // é is 2 bytes, € is 3: the last 4 bytes start inside é
  assert.equal(u.text(), '€');
  const none = new OutputTail(0);
  none.push(Buffer.from('x'));
  assert.equal(none.text(), '');
});
