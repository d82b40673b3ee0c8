import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ExecMode } from '../../src/gen/fleet/v1/app';
import { ConfigError, compileConfig, loadAndCompile, type CompileOptions } from '../../src/config';
import { FAKE_PATH, LOGS, baseOptions, fixture, shown } from './fixtures';

const load = (file: string, extra: Partial<CompileOptions> = {}) =>
  loadAndCompile(fixture(file), { logsDir: LOGS, cpuCount: 4, shellEnv: { PATH: FAKE_PATH }, ...extra });

async function rejectsWith(file: string, key: string | undefined, message: RegExp, extra: Partial<CompileOptions> = {}): Promise<ConfigError> {
  let caught: unknown;
  await assert.rejects(load(file, extra), (err: unknown) => {
    caught = err;
    return true;
  });
  assert.ok(caught instanceof ConfigError, `expected ConfigError, got ${String(caught)}`);
  assert.equal(caught.key, key);
  assert.match(caught.message, message);
  assert.ok(caught.message.startsWith(`${shown(file)}: `), `the message starts with the file: ${caught.message}`);
  assert.equal(caught.file, fixture(file));
  assert.ok(caught.hint);
  return caught;
}

test('.cjs, .mjs, JSON with comments and YAML files compile', async () => {
  const cjs = await load('ecosystem.config.cjs');
  assert.deepEqual(cjs.apps.map((a) => [a.name, a.script]), [['cjs-app', fixture('app/server.js')]]);
  assert.equal(cjs.apps[0]!.source, fixture('ecosystem.config.cjs'));

  const mjs = await load('ecosystem.config.mjs');
  assert.deepEqual(mjs.apps.map((a) => [a.name, a.instances, a.execMode]), [['esm-app', 2, ExecMode.EXEC_MODE_CLUSTER]]);

  const json = await load('ecosystem.json');
  assert.deepEqual(json.apps.map((a) => [a.name, a.instances, a.execMode, a.env]), [
    ['json-app', 2, ExecMode.EXEC_MODE_CLUSTER, { NODE_ENV: 'production' }],
  ]);

  const yaml = await load('ecosystem.yaml');
  const [app, reporter] = yaml.apps;
  assert.equal(app!.instances, 4);
  assert.equal(app!.restart!.maxMemoryBytes, 1024 ** 3);
  assert.equal(app!.killTimeoutMs, 3000);
  assert.deepEqual(app!.env, { NODE_ENV: 'production', DEBUG: 'false' });
  assert.equal(reporter!.interpreter, 'python3');
  assert.equal(reporter!.restart!.cronRestart, '*/15 * * * *');
  assert.deepEqual(yaml.warnings, []);
});

test('apps as an array, as an object keyed by name, or one bare app', async () => {
  const keyed = await load('apps-object.config.js');
  assert.deepEqual(keyed.apps.map((a) => a.name), ['web', 'background-jobs']);

  const bare = await load('bare-app.json');
  assert.equal(bare.apps.length, 1);
  assert.equal(bare.apps[0]!.name, 'server');
  assert.equal(bare.apps[0]!.restart!.maxRestarts, 4);

  const list = compileConfig([{ script: './app/server.js' }, { script: './app/worker.js' }], baseOptions());
  assert.deepEqual(list.apps.map((a) => a.name), ['server', 'worker']);
  const single = compileConfig({ apps: { script: './app/server.js', name: 'one' } }, baseOptions());
  assert.deepEqual(single.apps.map((a) => a.name), ['one']);
});

test('camelCase keys in a real file', async () => {
  const { apps, warnings } = await load('camel-case.config.js');
  const s = apps[0]!;
  assert.deepEqual(warnings, []);
  assert.equal(s.execMode, ExecMode.EXEC_MODE_CLUSTER);
  assert.equal(s.instances, 3);
  assert.equal(s.restart!.maxMemoryBytes, 512 * 1024 * 1024);
  assert.equal(s.killTimeoutMs, 8000);
  assert.equal(s.listenTimeoutMs, 5000);
  assert.equal(s.waitReady, true);
  assert.deepEqual(s.restart!.stopExitCodes, [0]);
  assert.equal(s.log!.outFile, fixture('logs/camel.out'));
  assert.equal(s.log!.errorFile, fixture('logs/camel.err'));
  assert.equal(s.instanceVar, 'INSTANCE_ID');
  assert.equal(s.incrementVar, 'PORT');
  assert.deepEqual(s.interpreterArgs, ['--inspect=0']);
  assert.equal(s.log!.retain, 10);
  assert.equal(s.log!.compress, true);
  assert.equal(s.restart!.stableAfterMs, 60_000);
});

test('numbers, sizes and durations written as strings', async () => {
  const s = (await load('strings.yaml')).apps[0]!;
  assert.equal(s.instances, 3, '"-1" on 4 CPUs');
  assert.equal(s.restart!.maxMemoryBytes, 200 * 1024 * 1024);
  assert.equal(s.killTimeoutMs, 3000);
  assert.equal(s.listenTimeoutMs, 8000);
  assert.equal(s.restart!.minUptimeMs, 60_000);
  assert.equal(s.restart!.maxRestarts, 7);
  assert.equal(s.restart!.restartDelayMs, 500);
  assert.equal(s.restart!.expBackoffRestartDelayMs, 100);
  assert.deepEqual(s.restart!.stopExitCodes, [0, 2]);
  assert.equal(s.restart!.autorestart, false);
  assert.equal(s.waitReady, true);
  assert.equal(s.log!.maxSizeBytes, 1048576);
  assert.equal(s.log!.retain, 3);
  assert.equal(s.env.PORT, '4000');
});

test('npm with args "start", and a command line', async () => {
  const { apps } = await load('npm-start.config.js');
  assert.deepEqual(
    apps.map((a) => [a.name, a.script, a.interpreter, a.args]),
    [
      ['shop', 'npm', 'none', ['start']],
      ['shop-cmdline', 'bash', 'none', ['-c', 'npm run start -- --port 3001']],
    ],
  );
  assert.equal(apps[0]!.cwd, fixture());
});

test('an unknown key warns naming file, app, key and the closest valid key; strict refuses it', async () => {
  const { apps, warnings } = await load('typo.config.js');
  assert.equal(apps.length, 1);
  assert.deepEqual(warnings, [
    `${shown('typo.config.js')}: app "api": unknown key "max_memory_restrat" (did you mean "max_memory_restart"?)`,
    `${shown('typo.config.js')}: app "api": unknown key "instancez" (did you mean "instances"?)`,
  ]);
  await rejectsWith('typo.config.js', 'max_memory_restrat', /unknown key "max_memory_restrat" \(did you mean "max_memory_restart"\?\)/, {
    strict: true,
  });
});

test('unknown top-level keys warn; strict refuses them', () => {
  const raw = { apps: [{ script: './app/server.js' }], appz: [], max_restarts: 3 };
  const { warnings } = compileConfig(raw, baseOptions({ source: 'ecosystem.config.js' }));
  assert.deepEqual(warnings, [
    'ecosystem.config.js: unknown top-level key "appz" (did you mean "apps"?)',
    'ecosystem.config.js: top-level key "max_restarts" is ignored: app settings belong inside each app under apps',
  ]);
  assert.throws(() => compileConfig(raw, baseOptions({ strict: true })), ConfigError);
});

test('errors found while compiling name the file, the app and the key', async () => {
  await rejectsWith('missing-script.config.js', 'script', /config\.js: app "ghost": script "\.\/srv\.js" not found \(looked in \/.*\/srv\.js\)/);
  await rejectsWith('instances-zero.json', 'instances', /app "zero": instances must be at least 1; use 'max' for one per CPU/);
  await rejectsWith('bad-cron.yaml', 'cron_restart', /app "nightly": cron_restart "0 25 \* \* \*" is not a valid cron expression/);
  await rejectsWith('cluster-python.config.js', 'exec_mode', /needs a Node\.js script/);
  await rejectsWith('duplicate-names.json', 'name', /two apps are named "api" \(apps #1 and #3\)/);
});

test('an app without a name is numbered in messages', () => {
  assert.throws(
    () => compileConfig({ apps: [{ script: './app/server.js' }, { instances: 2 }] }, baseOptions({ source: 'eco.json' })),
    (err: unknown) => err instanceof ConfigError && /^eco\.json: app "#2": no script/.test(err.message),
  );
});

test('a file that holds nothing usable says so', async () => {
  await rejectsWith('empty.config.js', 'apps', /nothing usable/);
  for (const raw of [undefined, null, 42, 'apps', { apps: [] }, { apps: 'x' }, { apps: [42] }, { name: 'no-script' }]) {
    assert.throws(() => compileConfig(raw, baseOptions()), ConfigError, JSON.stringify(raw));
  }
});

test('--env NAME with no env_NAME anywhere warns once', () => {
  const raw = { apps: [{ script: './app/server.js', env: { A: 1 } }, { script: './app/worker.js' }] };
  const { apps, warnings } = compileConfig(raw, baseOptions({ envName: 'staging', source: 'eco.json' }));
  assert.deepEqual(apps[0]!.env, { A: '1' });
  assert.deepEqual(warnings, ['eco.json: --env staging: no app defines env_staging; apps get their env section only']);
  const defined = compileConfig({ apps: [{ script: './app/server.js', env_staging: { A: 2 } }, { script: './app/worker.js' }] }, baseOptions({ envName: 'staging' }));
  assert.deepEqual(defined.warnings, []);
  assert.deepEqual(defined.apps[0]!.env, { A: '2' });
});

test('override warnings are reported once, not once per app', () => {
  const raw = { apps: [{ script: './app/server.js' }, { script: './app/worker.js' }] };
  const { warnings } = compileConfig(raw, baseOptions({ overrides: { max_memory_restrat: '1G' } }));
  assert.deepEqual(warnings, ['command line: unknown option "max_memory_restrat" (did you mean "max_memory_restart"?)']);
});

test('a bare script from the command line: source is empty, flags apply', () => {
  const { apps } = compileConfig({ script: 'app/server.js' }, baseOptions({ overrides: { name: 'api', instances: 2, exec_mode: 'cluster' } }));
  assert.equal(apps[0]!.name, 'api');
  assert.equal(apps[0]!.instances, 2);
  assert.equal(apps[0]!.source, '');
  assert.equal(apps[0]!.deployJson, '');
});
