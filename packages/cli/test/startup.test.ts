import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { CommandContext } from '../src/context';
import { EXIT_FAILED, EXIT_OK } from '../src/exit-codes';
import { startup, type StartupDeps } from '../src/commands/startup';
import { capture, runFleet } from './helpers';

test('startup prints a systemd unit that never kills apps with the agent', async () => {
  const r = await runFleet(['startup', '--user', 'deploy'], { env: { FLEET_HOME: '/srv/fleet home', PATH: '/usr/bin:/bin' } });
  assert.equal(r.code, EXIT_OK, r.stderr);
  const unit = r.stdout;
  assert.match(unit, /^KillMode=process$/m);
  assert.match(unit, /^Restart=always$/m);
  assert.match(unit, /^Type=simple$/m);
  assert.match(unit, /^User=deploy$/m);
  assert.match(unit, /^Environment="FLEET_HOME=\/srv\/fleet home"$/m);
  const exec = /^ExecStart=(\S+) (\S+) agent$/m.exec(unit);
  assert.ok(exec, unit);
  assert.equal(exec[1], process.execPath);
  assert.ok(exec[2].endsWith('/bin/fleet.js') && fs.existsSync(exec[2]), exec[2]);
  assert.match(r.stderr, /startup --install/);
});

function fakeDeps(overrides: Partial<StartupDeps> = {}): StartupDeps & { written: Record<string, string>; ran: string[] } {
  const written: Record<string, string> = {};
  const ran: string[] = [];
  return {
    written,
    ran,
    unitPath: '/etc/systemd/system/fleet-agent.service',
    homeOf: (user) => (user === 'deploy' ? '/home/deploy' : undefined),
    which: () => '/usr/bin/systemctl',
    writeFile: (f, t) => {
      written[f] = t;
    },
    exec: (p, args) => {
      ran.push([p, ...args].join(' '));
    },
    currentUser: () => 'me',
    ...overrides,
  };
}

function ctxWith(env: NodeJS.ProcessEnv): { ctx: CommandContext; out: ReturnType<typeof capture> } {
  const out = capture();
  return { ctx: new CommandContext({ stdout: out, stderr: capture(), env, cwd: '/', onInterrupt: () => () => undefined }), out };
}

test('startup --install writes the unit, reloads and enables it', async () => {
  const deps = fakeDeps();
  const { ctx } = ctxWith({ SUDO_USER: 'deploy', PATH: '/usr/bin' });
  assert.equal(await startup(ctx, { install: true }, deps), EXIT_OK);
  const unit = deps.written['/etc/systemd/system/fleet-agent.service'];
  assert.match(unit, /^User=deploy$/m);
  // Under sudo, the home is the invoking user's, not root's.
  assert.match(unit, /^Environment=FLEET_HOME=\/home\/deploy\/\.fleet$/m);
  assert.deepEqual(deps.ran, ['/usr/bin/systemctl daemon-reload', '/usr/bin/systemctl enable fleet-agent']);
});

test('startup --install without systemctl is a clear error', async () => {
  const deps = fakeDeps({ which: () => undefined });
  const { ctx } = ctxWith({});
  await assert.rejects(startup(ctx, { install: true }, deps), /systemctl not found/);
  assert.deepEqual(deps.written, {});
});

test('startup --install without permission says to use sudo', async () => {
  const deps = fakeDeps({
    writeFile: () => {
      throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
    },
  });
  const { ctx } = ctxWith({});
  await assert.rejects(startup(ctx, { install: true }, deps), (err: Error & { hint?: string }) => {
    assert.match(err.message, /permission denied/);
    assert.match(err.hint ?? '', /sudo/);
    return true;
  });
  assert.equal(EXIT_FAILED, 1);
});
