import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExecMode, type AppSpec } from '../../src/gen/fleet/v1/app';
import { ConfigError, compileApp, type CompileOptions } from '../../src/config';
import { LOGS, baseOptions, fixture, FIXTURES } from './fixtures';

function compile(raw: Record<string, unknown>, extra: Partial<CompileOptions> = {}): { spec: AppSpec; warnings: string[] } {
  return compileApp(raw, baseOptions(extra));
}

function spec(raw: Record<string, unknown>, extra: Partial<CompileOptions> = {}): AppSpec {
  return compile(raw, extra).spec;
}

function assertConfigError(fn: () => unknown, key: string, message: RegExp): ConfigError {
  let caught: unknown;
  assert.throws(fn, (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof ConfigError, `expected ConfigError, got ${String(caught)}`);
  assert.equal(caught.key, key);
  assert.match(caught.message, message);
  assert.ok(caught.hint, 'every ConfigError here carries a hint');
  return caught;
}

test('a bare script gets every default', () => {
  const s = spec({ script: './app/server.js' });
  assert.deepEqual(s, {
    name: 'server',
    script: fixture('app/server.js'),
    args: [],
    cwd: FIXTURES,
    interpreter: 'node',
    interpreterArgs: [],
    execMode: ExecMode.EXEC_MODE_FORK,
    instances: 1,
    env: {},
    instanceVar: 'NODE_APP_INSTANCE',
    incrementVar: '',
    waitReady: false,
    listenTimeoutMs: 3000,
    killTimeoutMs: 1600,
    killSignal: 'SIGINT',
    restart: {
      autorestart: true,
      maxRestarts: 16,
      minUptimeMs: 1000,
      restartDelayMs: 0,
      expBackoffRestartDelayMs: 0,
      stopExitCodes: [],
      stableAfterMs: 30000,
      maxMemoryBytes: 0,
      memoryCheckIntervalMs: 3000,
      cronRestart: '',
    },
    log: {
      outFile: path.join(LOGS, 'server-out.log'),
      errorFile: path.join(LOGS, 'server-error.log'),
      dateFormat: '',
      merge: true,
      json: false,
      maxSizeBytes: 10 * 1024 * 1024,
      retain: 5,
      compress: false,
      disabled: false,
    },
    watch: { enabled: false, paths: [], ignore: ['node_modules', '.git'], debounceMs: 1000 },
    source: '',
    deployJson: '',
    release: 0,
  });
});

test('default log names are made safe for the file system', () => {
  const s = spec({ name: 'api/v2 (blue)', script: './app/server.js' });
  assert.equal(s.log!.outFile, path.join(LOGS, 'api_v2__blue_-out.log'));
  assert.equal(s.log!.errorFile, path.join(LOGS, 'api_v2__blue_-error.log'));
});

test('aliases: cmd, interpreter, interpreter_args, output, error, combine_logs, cron', () => {
  const s = spec({
    cmd: 'app/server.js',
    interpreter: '/usr/local/bin/node',
    interpreter_args: '--inspect',
    output: 'logs/o.log',
    error: 'logs/e.log',
    combine_logs: false,
    cron: '*/5 * * * *',
  });
  assert.equal(s.script, fixture('app/server.js'));
  assert.equal(s.interpreter, '/usr/local/bin/node');
  assert.deepEqual(s.interpreterArgs, ['--inspect']);
  assert.equal(s.log!.outFile, fixture('logs/o.log'));
  assert.equal(s.log!.errorFile, fixture('logs/e.log'));
  assert.equal(s.log!.merge, false);
  assert.equal(s.restart!.cronRestart, '*/5 * * * *');
  const other = spec({ script: './app/server.js', exec_interpreter: 'node', node_args: ['--a', 1], merge_logs: true, command: 'x' });
  assert.deepEqual(other.interpreterArgs, ['--a', '1']);
  assert.equal(other.script, fixture('app/server.js'), 'the canonical key wins over its alias');
});

test('two spellings of one key: the canonical one wins, with a warning', () => {
  const { spec: s, warnings } = compile({ script: './app/server.js', output: 'a.log', out_file: 'b.log' });
  assert.equal(s.log!.outFile, fixture('b.log'));
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /both "output" and "out_file" are set; using "out_file"/);
});

test('exec_mode accepts fork, fork_mode, cluster, cluster_mode', () => {
  for (const [mode, want] of [
    ['fork', ExecMode.EXEC_MODE_FORK],
    ['fork_mode', ExecMode.EXEC_MODE_FORK],
    ['cluster', ExecMode.EXEC_MODE_CLUSTER],
    ['cluster_mode', ExecMode.EXEC_MODE_CLUSTER],
    ['Cluster', ExecMode.EXEC_MODE_CLUSTER],
  ] as const) {
    assert.equal(spec({ script: './app/server.js', exec_mode: mode }).execMode, want, mode);
  }
  assertConfigError(() => spec({ script: './app/server.js', exec_mode: 'threads' }), 'exec_mode', /"fork" or "cluster"/);
});

test('instances: numbers, strings, "max", negative counts from the CPU count', () => {
  const n = (v: unknown, cpuCount = 4): number => spec({ script: './app/server.js', instances: v }, { cpuCount }).instances;
  assert.equal(n(3), 3);
  assert.equal(n('4'), 4);
  assert.equal(n('max'), 4);
  assert.equal(n('MAX', 8), 8);
  assert.equal(n(-1), 3);
  assert.equal(n('-1', 8), 7);
  assert.equal(n(-1, 1), 1, 'never fewer than one');
  assert.equal(n(-3, 2), 1);
  const s = spec({ script: './app/server.js' }, { cpuCount: undefined });
  assert.equal(s.instances, 1);
  assert.equal(spec({ script: './app/server.js', instances: 'max' }, { cpuCount: undefined }).instances, os.availableParallelism());
});

test('instances 0 is an error that points at max', () => {
  for (const zero of [0, '0']) {
    const err = assertConfigError(
      () => spec({ name: 'zero', script: './app/server.js', instances: zero }),
      'instances',
      /instances must be at least 1; use 'max' for one per CPU/,
    );
    assert.match(err.message, /app "zero"/);
  }
  assertConfigError(() => spec({ script: './app/server.js', instances: 2.5 }), 'instances', /whole number/);
  assertConfigError(() => spec({ script: './app/server.js', instances: 'lots' }), 'instances', /whole number or "max"/);
});

test('PM2 rule: a Node.js app with instances and no exec_mode is clustered; otherwise fork', () => {
  assert.equal(spec({ script: './app/server.js', instances: 2 }).execMode, ExecMode.EXEC_MODE_CLUSTER);
  assert.equal(spec({ script: './app/server.js', instances: 2, exec_mode: 'fork' }).execMode, ExecMode.EXEC_MODE_FORK);
  assert.equal(spec({ script: './app/job.py', instances: 2 }).execMode, ExecMode.EXEC_MODE_FORK);
  assert.equal(spec({ script: './app/server.js' }).execMode, ExecMode.EXEC_MODE_FORK);
});

test('cluster mode with a script that is not Node.js is an error that explains why', () => {
  assertConfigError(
    () => spec({ script: './app/job.py', exec_mode: 'cluster' }),
    'exec_mode',
    /needs a Node\.js script, but "\.\/app\/job\.py" runs with "python3"/,
  );
  const npm = assertConfigError(() => spec({ script: 'npm', args: 'start', exec_mode: 'cluster' }), 'exec_mode', /runs as a program/);
  assert.match(npm.hint!, /dist\/server\.js/);
  assertConfigError(() => spec({ script: './app/server.js', interpreter: 'bun', execMode: 'cluster' }), 'execMode', /"bun"/);
});

test('camelCase keys compile like their snake_case forms', () => {
  const camel = spec({
    script: './app/server.js',
    execMode: 'cluster',
    maxMemoryRestart: '512M',
    killTimeout: 8000,
    listenTimeout: '5s',
    waitReady: true,
    minUptime: 2000,
    maxRestarts: 5,
    restartDelay: 250,
    expBackoffRestartDelay: 100,
    stopExitCodes: [0],
    cronRestart: '30 4 * * 1',
    mergeLogs: true,
    logDateFormat: 'HH:mm',
    instanceVar: 'INSTANCE_ID',
    incrementVar: 'PORT',
    nodeArgs: '--inspect=0',
    ignoreWatch: 'tmp',
    watchDelay: 500,
    killSignal: 'SIGTERM',
    logMaxSize: '50M',
    logRetain: 10,
    logCompress: true,
    memoryCheckInterval: '10s',
    stableAfter: '1m',
  });
  const snake = spec({
    script: './app/server.js',
    exec_mode: 'cluster',
    max_memory_restart: '512M',
    kill_timeout: 8000,
    listen_timeout: '5s',
    wait_ready: true,
    min_uptime: 2000,
    max_restarts: 5,
    restart_delay: 250,
    exp_backoff_restart_delay: 100,
    stop_exit_codes: [0],
    cron_restart: '30 4 * * 1',
    merge_logs: true,
    log_date_format: 'HH:mm',
    instance_var: 'INSTANCE_ID',
    increment_var: 'PORT',
    node_args: '--inspect=0',
    ignore_watch: 'tmp',
    watch_delay: 500,
    kill_signal: 'SIGTERM',
    log_max_size: '50M',
    log_retain: 10,
    log_compress: true,
    memory_check_interval: '10s',
    stable_after: '1m',
  });
  assert.deepEqual(camel, snake);
  assert.equal(camel.restart!.maxMemoryBytes, 512 * 1024 * 1024);
  assert.equal(camel.restart!.stableAfterMs, 60_000);
  assert.equal(camel.restart!.memoryCheckIntervalMs, 10_000);
  assert.equal(camel.log!.maxSizeBytes, 50 * 1024 * 1024);
  assert.equal(camel.killSignal, 'SIGTERM');
});

test('args: a string is split like a shell, an array is kept', () => {
  assert.deepEqual(spec({ script: './app/server.js', args: `--name "my app" -v` }).args, ['--name', 'my app', '-v']);
  assert.deepEqual(spec({ script: './app/server.js', args: ['--port', 3000, true] }).args, ['--port', '3000', 'true']);
  assertConfigError(() => spec({ script: './app/server.js', args: { port: 1 } }), 'args', /string or an array/);
});

test('watch: true, false, a path or a list; node_modules and .git always ignored', () => {
  const w = (v: unknown, extra: Record<string, unknown> = {}) => spec({ script: './app/server.js', watch: v, ...extra }).watch!;
  assert.deepEqual(w(true), { enabled: true, paths: [], ignore: ['node_modules', '.git'], debounceMs: 1000 });
  assert.equal(w(false).enabled, false);
  assert.equal(w('false').enabled, false);
  assert.deepEqual(w('src').paths, ['src']);
  assert.equal(w('src').enabled, true);
  assert.deepEqual(w(['src', 'lib']).paths, ['src', 'lib']);
  assert.equal(w([]).enabled, false, 'an empty list watches nothing');
  assert.deepEqual(w(true, { ignore_watch: ['logs', 'node_modules'], watch_delay: '2s' }), {
    enabled: true,
    paths: [],
    ignore: ['node_modules', '.git', 'logs'],
    debounceMs: 2000,
  });
  assert.deepEqual(w(true, { ignore_watch: '*.log' }).ignore, ['node_modules', '.git', '*.log']);
});

test('logs: paths resolve against cwd; /dev/null, NULL and false turn a stream off', () => {
  const log = (extra: Record<string, unknown>) => spec({ script: 'server.js', cwd: 'app', ...extra }).log!;
  assert.equal(log({ out_file: 'logs/out.log' }).outFile, fixture('app/logs/out.log'));
  assert.equal(log({ out_file: '/var/log/x.log' }).outFile, '/var/log/x.log');
  assert.equal(log({ out_file: '~/x.log' }).outFile, path.join(os.homedir(), 'x.log'));
  const outOff = log({ out_file: '/dev/null' });
  assert.equal(outOff.outFile, '/dev/null');
  assert.equal(outOff.errorFile, path.join(LOGS, 'server-error.log'));
  assert.equal(outOff.disabled, false, 'stderr is still written');
  const bothOff = log({ out_file: false, error_file: 'NULL' });
  assert.equal(bothOff.disabled, true);
  assert.equal(log({ disable_logs: true }).disabled, true);
});

test('logs: time, log_date_format, log_type json, merge and rotation keys', () => {
  const log = (extra: Record<string, unknown>) => spec({ script: './app/server.js', ...extra }).log!;
  assert.equal(log({ time: true }).dateFormat, 'YYYY-MM-DDTHH:mm:ss');
  assert.equal(log({ time: false }).dateFormat, '');
  assert.equal(log({ time: true, log_date_format: 'YYYY-MM-DD HH:mm Z' }).dateFormat, 'YYYY-MM-DD HH:mm Z');
  assert.equal(log({ log_type: 'json' }).json, true);
  assertConfigError(() => log({ log_type: 'xml' }), 'log_type', /"json"/);
  assert.equal(log({ instances: 4 }).merge, false, 'several cluster instances write their own files, as in PM2');
  assert.equal(log({ instances: 4, merge_logs: true }).merge, true);
  const rotation = log({ log_max_size: 0, log_retain: '2', log_compress: 'true' });
  assert.equal(rotation.maxSizeBytes, 0);
  assert.equal(rotation.retain, 2);
  assert.equal(rotation.compress, true);
});

test('restart keys: string numbers, sizes and durations', () => {
  const r = spec({
    script: './app/server.js',
    autorestart: 'false',
    max_restarts: '3',
    min_uptime: '2s',
    restart_delay: '1500',
    exp_backoff_restart_delay: 100,
    stop_exit_codes: 2,
    max_memory_restart: '1G',
    memory_check_interval: 500,
    stable_after: '45s',
  }).restart!;
  assert.deepEqual(r, {
    autorestart: false,
    maxRestarts: 3,
    minUptimeMs: 2000,
    restartDelayMs: 1500,
    expBackoffRestartDelayMs: 100,
    stopExitCodes: [2],
    stableAfterMs: 45_000,
    maxMemoryBytes: 1024 ** 3,
    memoryCheckIntervalMs: 500,
    cronRestart: '',
  });
  assert.deepEqual(spec({ script: './app/server.js', stop_exit_codes: [0, '3'] }).restart!.stopExitCodes, [0, 3]);
  assertConfigError(() => spec({ script: './app/server.js', stop_exit_codes: [300] }), 'stop_exit_codes', /0 to 255/);
  assertConfigError(() => spec({ script: './app/server.js', max_restarts: 'many' }), 'max_restarts', /whole number/);
  assertConfigError(() => spec({ script: './app/server.js', autorestart: 'sometimes' }), 'autorestart', /true or false/);
  assertConfigError(() => spec({ script: './app/server.js', memory_check_interval: 10 }), 'memory_check_interval', /100 ms/);
  assertConfigError(() => spec({ script: './app/server.js', maxMemoryRestart: '1 gig' }), 'maxMemoryRestart', /maxMemoryRestart "1 gig" is not a size/);
});

test('cron_restart is validated: an invalid expression names the key and the expression', () => {
  assert.equal(spec({ script: './app/server.js', cron_restart: '0 0 * * *' }).restart!.cronRestart, '0 0 * * *');
  assert.equal(spec({ script: './app/server.js', cron_restart: '*/30 * * * * *' }).restart!.cronRestart, '*/30 * * * * *');
  assert.equal(spec({ script: './app/server.js', cron_restart: 0 }).restart!.cronRestart, '', 'falsy means none, as in PM2');
  for (const bad of ['0 25 * * *', 'every day', '* * *']) {
    const err = assertConfigError(() => spec({ name: 'nightly', script: './app/server.js', cron_restart: bad }), 'cron_restart', /not a valid cron expression/);
    assert.ok(err.message.includes(`"${bad}"`), err.message);
  }
});

test('kill_signal must be a real signal; names are normalised', () => {
  assert.equal(spec({ script: './app/server.js', kill_signal: 'sigterm' }).killSignal, 'SIGTERM');
  assert.equal(spec({ script: './app/server.js', kill_signal: 'QUIT' }).killSignal, 'SIGQUIT');
  assertConfigError(() => spec({ script: './app/server.js', kill_signal: 'SIGNOPE' }), 'kill_signal', /not a signal name/);
  assertConfigError(() => spec({ script: './app/server.js', kill_signal: 15 }), 'kill_signal', /not a signal name/);
});

test('env: env merged with env_<name> for --env; values become strings', () => {
  const raw = {
    script: './app/server.js',
    env: { NODE_ENV: 'development', PORT: 3000, DEBUG: false, NESTED: { a: 1 }, UNSET: null },
    env_production: { NODE_ENV: 'production', PORT: 8080 },
  };
  assert.deepEqual(spec(raw).env, { NODE_ENV: 'development', PORT: '3000', DEBUG: 'false', NESTED: '{"a":1}' });
  assert.deepEqual(spec(raw, { envName: 'production' }).env, {
    NODE_ENV: 'production',
    PORT: '8080',
    DEBUG: 'false',
    NESTED: '{"a":1}',
  });
  assert.deepEqual(spec({ script: './app/server.js', env: { A: '1' }, port: 4000 }).env, { A: '1', PORT: '4000' });
  assertConfigError(() => spec({ script: './app/server.js', env: 'NODE_ENV=production' }), 'env', /must be an object/);
});

test('env: the shell environment only with updateEnv, filtered by filter_env', () => {
  const shellEnv = { PATH: '/usr/bin', HOME: '/home/app', SECRET_TOKEN: 'x', LANG: undefined };
  assert.deepEqual(spec({ script: './app/server.js', env: { A: 1 } }, { shellEnv }).env, { A: '1' });
  assert.deepEqual(spec({ script: './app/server.js', env: { HOME: '/srv' } }, { shellEnv, updateEnv: true }).env, {
    PATH: '/usr/bin',
    HOME: '/srv',
    SECRET_TOKEN: 'x',
  });
  assert.deepEqual(spec({ script: './app/server.js', filter_env: ['SECRET'] }, { shellEnv, updateEnv: true }).env, {
    PATH: '/usr/bin',
    HOME: '/home/app',
  });
  assert.deepEqual(spec({ script: './app/server.js', filter_env: true, env: { A: 1 } }, { shellEnv, updateEnv: true }).env, { A: '1' });
});

test('python apps get PYTHONUNBUFFERED so their output reaches the log as written', () => {
  assert.equal(spec({ script: './app/job.py' }).env.PYTHONUNBUFFERED, '1');
  assert.equal(spec({ script: './app/job.py', env: { PYTHONUNBUFFERED: '0' } }).env.PYTHONUNBUFFERED, '0');
  assert.equal(spec({ script: './app/server.js' }).env.PYTHONUNBUFFERED, undefined);
});

test('name: given, or derived from the script like PM2; "all" and numbers are refused', () => {
  assert.equal(spec({ script: './app/server.js', name: 'api' }).name, 'api');
  assert.equal(spec({ script: './app/bin/www' }).name, 'www');
  assert.equal(spec({ script: 'npm', args: 'start' }).name, 'npm');
  assertConfigError(() => spec({ script: './app/server.js', name: 'all' }), 'name', /reserved/);
  assertConfigError(() => spec({ script: './app/server.js', name: '42' }), 'name', /a number/);
  assertConfigError(() => spec({ script: './app/server.js', name: 'ALL' }), 'name', /reserved/);
});

test('append_env_to_name adds the --env name', () => {
  assert.equal(spec({ script: './app/server.js', name: 'api', append_env_to_name: true }, { envName: 'staging' }).name, 'api-staging');
  assert.equal(spec({ script: './app/server.js', name: 'api', append_env_to_name: true }).name, 'api');
});

test('unknown keys warn with the closest valid key; strict makes them errors', () => {
  const { warnings } = compile({ name: 'api', script: './app/server.js', max_memory_restrat: '1G', frobnicate: 1 }, { source: 'ecosystem.config.js' });
  assert.deepEqual(warnings, [
    'ecosystem.config.js: app "api": unknown key "max_memory_restrat" (did you mean "max_memory_restart"?)',
    'ecosystem.config.js: app "api": unknown key "frobnicate"',
  ]);
  const camel = compile({ script: './app/server.js', maxMemoryRestrat: '1G' }).warnings;
  assert.match(camel[0]!, /unknown key "maxMemoryRestrat" \(did you mean "max_memory_restart"\?\)/);

  const err = assertConfigError(
    () => compile({ name: 'api', script: './app/server.js', max_memory_restrat: '1G' }, { strict: true, source: 'ecosystem.config.js' }),
    'max_memory_restrat',
    /ecosystem\.config\.js: app "api": unknown key "max_memory_restrat" \(did you mean "max_memory_restart"\?\)/,
  );
  assert.match(err.hint!, /rename "max_memory_restrat" to "max_memory_restart"/);
});

test('PM2 keys Fleet does not use are accepted; those whose loss matters warn', () => {
  const quiet = compile({
    script: './app/server.js',
    vizion: false,
    pmx: true,
    automation: false,
    treekill: true,
    source_map_support: true,
    namespace: 'shop',
    version: '1.2.3',
    post_update: ['npm ci'],
    pid_file: './app.pid',
    log_file: '/dev/null',
    windowsHide: true,
  });
  assert.deepEqual(quiet.warnings, []);
  const loud = compile({ script: './app/server.js', log_file: './logs/combined.log', uid: 'www', treekill: false });
  assert.equal(loud.warnings.length, 3);
  assert.match(loud.warnings[0]!, /"log_file" is ignored: Fleet writes no combined log/);
  assert.match(loud.warnings[1]!, /"uid" is ignored/);
  assert.match(loud.warnings[2]!, /"treekill" is ignored/);
  assert.equal(compile({ script: './app/server.js' }, { strict: true }).warnings.length, 0);
  assert.doesNotThrow(() => compile({ script: './app/server.js', vizion: false }, { strict: true }));
});

test('health is accepted and flagged as not applied yet', () => {
  const { warnings } = compile({ script: './app/server.js', health: { path: '/healthz' } });
  assert.match(warnings[0]!, /"health" is not applied yet/);
});

test('overrides (CLI flags) win key by key over the file; env is merged', () => {
  const { spec: s, warnings } = compile(
    { name: 'api', script: './app/server.js', instances: 2, kill_timeout: 5000, env: { A: '1', B: '2' } },
    { overrides: { instances: 'max', maxMemoryRestart: '100M', env: { B: 'flag' }, name: undefined, bogus_flag: 1 } },
  );
  assert.equal(s.name, 'api', 'an undefined flag changes nothing');
  assert.equal(s.instances, 4);
  assert.equal(s.killTimeoutMs, 5000);
  assert.equal(s.restart!.maxMemoryBytes, 100 * 1024 * 1024);
  assert.deepEqual(s.env, { A: '1', B: 'flag' });
  assert.deepEqual(warnings, ['command line: unknown option "bogus_flag"']);
});

test('cwd: relative to the config folder; must exist', () => {
  const s = spec({ script: 'index.js', cwd: 'other-cwd' });
  assert.equal(s.cwd, fixture('other-cwd'));
  assert.equal(s.script, fixture('other-cwd/index.js'));
  assertConfigError(() => spec({ script: 'index.js', cwd: 'no-such-dir' }), 'cwd', /not a directory/);
});

test('a missing script is an error naming the path looked at', () => {
  const err = assertConfigError(
    () => spec({ name: 'ghost', script: './srv.js' }, { source: 'ecosystem.config.js' }),
    'script',
    /script "\.\/srv\.js" not found \(looked in .*fixtures\/config\/srv\.js\)/,
  );
  assert.match(err.message, /^ecosystem\.config\.js: app "ghost": /);
  assert.equal(err.app, 'ghost');
  assertConfigError(() => spec({ name: 'none' }), 'script', /no script/);
});
