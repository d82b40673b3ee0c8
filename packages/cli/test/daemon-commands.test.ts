// The daemon-backed commands against a fake Fleet service: output and exit codes.
import { after, before, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as path from 'node:path';
import { ExecMode, FLEET_VERSION, type StartRequest } from '@fleet/protocol';
import { EXIT_FAILED, EXIT_OK } from '../src/exit-codes';
import { SECRET, startFakeDaemon, type FakeDaemon } from './fake-daemon';
import { runFleet } from './helpers';

let daemon: FakeDaemon;
before(async () => {
  daemon = await startFakeDaemon();
});
after(async () => {
  await daemon.close();
});

const fleet = (...args: string[]) => runFleet(args, { env: daemon.env });

test('ls --json: one object per instance, exactly the documented keys', async () => {
  const r = await fleet('ls', '--json');
  assert.equal(r.code, EXIT_OK, r.stderr);
  const rows = JSON.parse(r.stdout) as Array<Record<string, unknown>>;
  assert.equal(rows.length, 3);
  assert.deepEqual(rows[0], {
    app: 'api',
    appId: 0,
    instance: 0,
    pid: 4001,
    status: 'online',
    cpuPercent: 0.5,
    memoryBytes: 40 * 1024 * 1024,
    restarts: 0,
    uptimeMs: 120_000,
    execMode: 'cluster',
    createdMs: 1_700_000_000_000,
    host: 'test-host',
    release: 0,
  });
  // An app with no instance still shows, stopped.
  assert.deepEqual(
    { app: rows[2].app, instance: rows[2].instance, status: rows[2].status, execMode: rows[2].execMode },
    { app: 'worker', instance: null, status: 'stopped', execMode: 'fork' },
  );
  assert.deepEqual(daemon.calls.find((c) => c.method === 'list')?.request, { fresh: false, summary: true, where: undefined });
});

test('ls: a table, no colour when stdout is not a TTY', async () => {
  const r = await fleet('list');
  assert.equal(r.code, EXIT_OK);
  assert.match(r.stdout, /^id\s+name\s+mode\s+#\s+pid\s+status\s+restarts\s+uptime\s+cpu\s+mem\n/);
  assert.match(r.stdout, /0\s+api\s+cluster\s+1\s+4002\s+online\s+1\s+2m\s+0.5%\s+40.0MB/);
  assert.doesNotMatch(r.stdout, /\u001b\[/);
});

test('describe never prints env values, in either output', async () => {
  const h = await fleet('describe', 'api');
  assert.equal(h.code, EXIT_OK, h.stderr);
  assert.ok(!h.stdout.includes(SECRET) && !h.stdout.includes('production'), h.stdout);
  assert.match(h.stdout, /DATABASE_URL=\*\*\*\* NODE_ENV=\*\*\*\*/);
  assert.match(h.stdout, /script\s+\/srv\/api\/server\.js/);
  assert.match(h.stdout, /max memory\s+200\.0MB/);
  assert.match(h.stdout, /launching -> online {2}ready/);
  assert.match(h.stdout, /code 1/);

  const j = await fleet('describe', 'api', '--json');
  assert.equal(j.code, EXIT_OK);
  assert.ok(!j.stdout.includes(SECRET));
  const [app] = JSON.parse(j.stdout);
  assert.deepEqual(app.spec.env, { DATABASE_URL: '****', NODE_ENV: '****' });
  assert.equal(app.name, 'api');
  assert.equal(app.instances[1].status, 'online');
  assert.equal(app.instances[1].lastExitCode, 1);
  assert.deepEqual(app.instances[0].events[0], { timeMs: 1_700_000_100_000, from: 'launching', to: 'online', reason: 'ready' });
});

test('unknown app: the daemon error and its fix, exit 1', async () => {
  const r = await fleet('describe', 'nope');
  assert.equal(r.code, EXIT_FAILED);
  assert.equal(r.stdout, '');
  assert.equal(r.stderr, 'error: no app named "nope"\n  fix: see the names with: fleet ls\n');
});

test('stop api: a result line, exit 0', async () => {
  const r = await fleet('stop', 'api');
  assert.equal(r.code, EXIT_OK);
  assert.equal(r.stdout, '✓ api stopped\n');
  assert.equal(r.stderr, '');
});

test('restart all with one failing app: partial failure exits 1', async () => {
  const r = await fleet('restart', 'all');
  assert.equal(r.code, EXIT_FAILED);
  assert.equal(r.stdout, '✓ api restarted\n');
  assert.equal(r.stderr, '✗ worker: exited with code 1 before ready\n');
  const j = await fleet('reload', 'all', '--json');
  assert.equal(j.code, EXIT_FAILED);
  assert.equal(j.stderr, '');
  assert.deepEqual(JSON.parse(j.stdout).results[1], {
    app: 'worker',
    appId: 1,
    ok: false,
    error: 'exited with code 1 before ready',
    errorCode: 'FAILED',
    message: '',
    host: 'test-host',
  });
});

test('delete and flush (all by default)', async () => {
  assert.equal((await fleet('delete', 'api')).stdout, '✓ api deleted\n');
  const f = await fleet('flush');
  assert.equal(f.code, EXIT_FAILED);
  assert.deepEqual(daemon.calls.filter((c) => c.method === 'flush').at(-1)?.request, { target: 'all', where: undefined });
});

test('scale sends the count as typed', async () => {
  const r = await fleet('scale', 'api', '+2');
  assert.equal(r.code, EXIT_OK);
  assert.equal(r.stdout, '✓ api scaled: 2 -> 4 instances\n');
  assert.deepEqual(daemon.calls.filter((c) => c.method === 'scale').at(-1)?.request, { target: 'api', count: '+2', where: undefined });
  await fleet('scale', 'api', '-1');
  assert.deepEqual(daemon.calls.filter((c) => c.method === 'scale').at(-1)?.request, { target: 'api', count: '-1', where: undefined });
});

test('ping --json: the daemon identity', async () => {
  const r = await fleet('ping', '--json');
  assert.equal(r.code, EXIT_OK);
  const pong = JSON.parse(r.stdout);
  assert.deepEqual(Object.keys(pong).sort(), ['home', 'host', 'mode', 'pid', 'role', 'startedMs', 'version']);
  assert.equal(pong.version, FLEET_VERSION);
  assert.equal(pong.home, daemon.home);
  const h = await fleet('ping');
  assert.match(h.stdout, /^pong: fleet .* local, pid \d+, home .*, host test-host, up 5s\n$/);
});

test('save and resurrect', async () => {
  const s = await fleet('save', '--json');
  assert.deepEqual(JSON.parse(s.stdout), { path: `${daemon.home}/dump.json`, apps: 2 });
  assert.match((await fleet('save')).stdout, /^saved 2 apps to /);
  const r = await fleet('resurrect');
  assert.equal(r.stdout, '✓ api resurrected\n');
});

test('logs: app#instance | line, err lines marked; --json one object a line', async () => {
  const r = await fleet('logs', 'api', '--lines', '5', '--err');
  assert.equal(r.code, EXIT_OK);
  assert.equal(r.stdout, 'api#0 | listening on 3000\napi#1 err | warning: slow\n');
  assert.deepEqual(daemon.calls.filter((c) => c.method === 'logs').at(-1)?.request, {
    target: 'api',
    lines: 5,
    follow: false,
    stream: 'LOG_STREAM_ERR',
    where: undefined,
    grep: '',
  });
  const j = await fleet('logs', '--json');
  const lines = j.stdout.trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines[1], { app: 'api', instance: 1, stream: 'err', line: 'warning: slow', timeMs: 2, host: '' });
  assert.deepEqual(daemon.calls.filter((c) => c.method === 'logs').at(-1)?.request, {
    target: '',
    lines: 15,
    follow: false,
    stream: 'LOG_STREAM_UNSPECIFIED',
    where: undefined,
    grep: '',
  });
});

test('logs --follow runs until SIGINT, then exits 0', async () => {
  let interrupt: (() => void) | undefined;
  const running = runFleet(['logs', '-f'], {
    env: daemon.env,
    onInterrupt: (h) => {
      interrupt = h;
    },
  });
  // Wait for the stream to be open, then press Ctrl-C.
  while (!daemon.calls.some((c) => c.method === 'logs' && (c.request as { follow: boolean }).follow)) {
    await new Promise((r) => setTimeout(r, 10));
  }
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(interrupt);
  interrupt();
  const r = await running;
  assert.equal(r.code, EXIT_OK, r.stderr);
  assert.match(r.stdout, /api#0 \| listening on 3000/);
});

const FIXTURES = path.resolve(__dirname, '..', '..', 'test', 'fixtures');
const lastStart = (): StartRequest => daemon.calls.filter((c) => c.method === 'start').at(-1)?.request as StartRequest;

test('start a script: flags compiled into the spec the daemon gets', async () => {
  const r = await runFleet(
    ['start', 'server.js', '--name', 'web', '-i', '3', '--kill-timeout', '5s', '--no-autorestart', '--json', '--', '--port', '8080'],
    { env: { ...daemon.env, SHELL_ONLY: 'x' }, cwd: FIXTURES },
  );
  assert.equal(r.code, EXIT_OK, r.stderr);
  const out = JSON.parse(r.stdout);
  assert.deepEqual(out.results.map((x: { app: string; ok: boolean }) => [x.app, x.ok]), [['web', true]]);
  assert.deepEqual(Object.keys(out).sort(), ['processes', 'results', 'warnings']);
  const req = lastStart();
  assert.equal(req.updateEnv, false);
  const [spec] = req.apps;
  assert.equal(spec.name, 'web');
  assert.equal(spec.script, path.join(FIXTURES, 'server.js'));
  assert.equal(spec.cwd, FIXTURES);
  assert.equal(spec.instances, 3);
  assert.equal(spec.execMode, ExecMode.EXEC_MODE_CLUSTER);
  assert.equal(spec.killTimeoutMs, 5000);
  assert.equal(spec.restart?.autorestart, false);
  assert.deepEqual(spec.args, ['--port', '8080']);
  // Apps get their config's env, not the shell's, unless --update-env.
  assert.equal(spec.env.SHELL_ONLY, undefined);
  const upd = await runFleet(['start', 'server.js', '--update-env'], { env: { ...daemon.env, SHELL_ONLY: 'x' }, cwd: FIXTURES });
  assert.equal(upd.code, EXIT_OK, upd.stderr);
  assert.equal(lastStart().updateEnv, true);
  assert.equal(lastStart().apps[0].env.SHELL_ONLY, 'x');
});

test('start a config file: every app, --env applied, warnings on stderr, table on stdout', async () => {
  const r = await runFleet(['start', 'ecosystem.config.js', '--env', 'production'], { env: daemon.env, cwd: FIXTURES });
  assert.equal(r.code, EXIT_OK, r.stderr);
  assert.match(r.stderr, /^warning: .*restart_dealy/m);
  assert.match(r.stdout, /^✓ api started\n✓ worker started\n/);
  assert.match(r.stdout, /^id\s+name\s+mode/m);
  const req = lastStart();
  assert.deepEqual(req.apps.map((a) => a.name), ['api', 'worker']);
  assert.equal(req.apps[0].env.NODE_ENV, 'production');
});

test('start with a bad script or config fails (1) before the daemon is asked', async () => {
  const before = daemon.calls.filter((c) => c.method === 'start').length;
  const missing = await runFleet(['start', 'no-such-app.js'], { env: daemon.env, cwd: FIXTURES });
  assert.equal(missing.code, EXIT_FAILED);
  assert.match(missing.stderr, /^error: .*not found/m);
  assert.match(missing.stderr, /^ {2}fix: /m);
  const broken = await runFleet(['start', 'broken.config.js', '--json'], { env: daemon.env, cwd: FIXTURES });
  assert.equal(broken.code, EXIT_FAILED);
  assert.equal(broken.stdout, '');
  assert.equal(daemon.calls.filter((c) => c.method === 'start').length, before);
});

test('kill: stops the daemon and waits until it is gone (last: it ends the fake)', async () => {
  const r = await fleet('kill', '--json');
  assert.equal(r.code, EXIT_OK, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { killed: true, pid: process.pid, stoppedApps: 2 });
  const again = await fleet('kill');
  assert.equal(again.stdout, 'no daemon running\n');
});
