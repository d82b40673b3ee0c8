import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { CommandContext } from '../src/context';
import { buildProgram } from '../src/main';
import { startOverrides, type StartFlags } from '../src/start-overrides';
import { capture } from './helpers';

/** Parses a `fleet start` line with the real program and returns what the action would get. */
async function parseStart(args: string[]): Promise<{ target: string; args: string[]; flags: StartFlags }> {
  const ctx = new CommandContext({
    stdout: capture(),
    stderr: capture(),
    env: {},
    cwd: '/tmp',
    onInterrupt: () => () => undefined,
  });
  const program = buildProgram(ctx);
  let seen: { target: string; args: string[]; flags: StartFlags } | undefined;
  program.commands
    .find((c) => c.name() === 'start')!
    .action((target: string, rest: string[], flags: StartFlags) => {
      seen = { target, args: rest, flags };
    });
  await program.parseAsync(['start', ...args], { from: 'user' });
  assert.ok(seen, 'start action ran');
  return seen;
}

test('every start flag maps to its PM2 key', async () => {
  const { target, args, flags } = await parseStart([
    'app.js',
    '--name', 'api',
    '-i', 'max',
    '--env', 'production',
    '--max-memory-restart', '200M',
    '--wait-ready',
    '--listen-timeout', '5000',
    '--kill-timeout', '3s',
    '--cwd', '/srv/api',
    '--interpreter', 'node',
    '--node-args', '--max-old-space-size=512',
    '--restart-delay', '100',
    '--exp-backoff-restart-delay', '200',
    '--max-restarts', '5',
    '--min-uptime', '2000',
    '--no-autorestart',
    '--cron-restart', '0 3 * * *',
    '--log-date-format', 'YYYY-MM-DD HH:mm:ss',
    '--merge-logs',
    '--watch', 'src,lib',
    '--ignore-watch', 'node_modules,tmp',
    '--ignore-watch', 'logs',
    '--update-env',
    '--strict',
    '--',
    '--port', '3000',
  ]);
  assert.equal(target, 'app.js');
  assert.deepEqual(args, ['--port', '3000']);
  assert.equal(flags.env, 'production');
  assert.equal(flags.updateEnv, true);
  assert.equal(flags.strict, true);
  assert.deepEqual(startOverrides(flags, args), {
    name: 'api',
    instances: 'max',
    max_memory_restart: '200M',
    wait_ready: true,
    listen_timeout: 5000,
    kill_timeout: '3s',
    cwd: '/srv/api',
    interpreter: 'node',
    node_args: '--max-old-space-size=512',
    restart_delay: 100,
    exp_backoff_restart_delay: 200,
    max_restarts: 5,
    min_uptime: 2000,
    autorestart: false,
    cron_restart: '0 3 * * *',
    log_date_format: 'YYYY-MM-DD HH:mm:ss',
    merge_logs: true,
    watch: ['src', 'lib'],
    ignore_watch: ['node_modules', 'tmp', 'logs'],
    args: ['--port', '3000'],
  });
});

test('flags not given set nothing, so a config file keeps its values', async () => {
  const { flags, args } = await parseStart(['ecosystem.config.js']);
  assert.deepEqual(startOverrides(flags, args), {});
});

test('-i -1 and a bare --watch', async () => {
  const { flags, args } = await parseStart(['app.js', '-i', '-1', '--watch']);
  assert.deepEqual(startOverrides(flags, args), { instances: -1, watch: true });
  const four = await parseStart(['app.js', '--instances', '4']);
  assert.equal(startOverrides(four.flags, []).instances, 4);
});
