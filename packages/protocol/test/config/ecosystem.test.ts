// End to end on a realistic PM2 ecosystem file: what a team migrating from
// PM2 has, compiled as they would run it.
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ExecMode } from '../../src/gen/fleet/v1/app';
import { compileConfig, loadAndCompile, loadConfigFile, type CompileOptions } from '../../src/config';
import { FAKE_PATH, LOGS, baseOptions, fixture } from './fixtures';

const FILE = fixture('ecosystem.config.js');
const load = (extra: Partial<CompileOptions> = {}) =>
  loadAndCompile(FILE, { logsDir: LOGS, cpuCount: 8, shellEnv: { PATH: FAKE_PATH }, ...extra });

test('the default environment: env only, every key of both apps compiled', async () => {
  const { apps, warnings } = await load();
  assert.deepEqual(warnings, []);
  const [api, worker] = apps;

  assert.equal(api!.name, 'api');
  assert.equal(api!.script, fixture('app/server.js'));
  assert.equal(api!.cwd, fixture());
  assert.equal(api!.interpreter, 'node');
  assert.deepEqual(api!.interpreterArgs, ['--max-old-space-size=256', '--enable-source-maps']);
  assert.equal(api!.execMode, ExecMode.EXEC_MODE_CLUSTER);
  assert.equal(api!.instances, 8);
  assert.deepEqual(api!.env, { NODE_ENV: 'development', PORT: '3000', FEATURES: '{"search":true}' });
  assert.equal(api!.waitReady, true);
  assert.equal(api!.listenTimeoutMs, 10_000);
  assert.equal(api!.killTimeoutMs, 5000);
  assert.deepEqual(api!.restart, {
    autorestart: true,
    maxRestarts: 10,
    minUptimeMs: 5000,
    restartDelayMs: 0,
    expBackoffRestartDelayMs: 100,
    stopExitCodes: [],
    stableAfterMs: 30_000,
    maxMemoryBytes: 300 * 1024 * 1024,
    memoryCheckIntervalMs: 3000,
    cronRestart: '',
  });
  assert.deepEqual(api!.log, {
    outFile: fixture('logs/api-out.log'),
    errorFile: fixture('logs/api-error.log'),
    dateFormat: 'YYYY-MM-DD HH:mm:ss Z',
    merge: true,
    json: false,
    maxSizeBytes: 10 * 1024 * 1024,
    retain: 5,
    compress: false,
    disabled: false,
  });
  assert.equal(api!.source, FILE);

  assert.equal(worker!.name, 'worker');
  assert.equal(worker!.script, fixture('app/worker.js'));
  assert.deepEqual(worker!.args, ['--queue', 'emails', '--label', 'nightly digest']);
  assert.equal(worker!.execMode, ExecMode.EXEC_MODE_FORK);
  assert.equal(worker!.instances, 1);
  assert.deepEqual(worker!.watch, { enabled: true, paths: ['app'], ignore: ['node_modules', '.git', 'logs', '*.tmp'], debounceMs: 2000 });
  assert.equal(worker!.restart!.cronRestart, '0 3 * * *');
  assert.deepEqual(worker!.restart!.stopExitCodes, [0, 3]);
  assert.equal(worker!.log!.outFile, `${LOGS}/worker-out.log`);
  assert.deepEqual(worker!.env, { NODE_ENV: 'development' });
});

test('--env production merges env_production over env', async () => {
  const { apps, warnings } = await load({ envName: 'production' });
  assert.deepEqual(warnings, []);
  assert.deepEqual(apps[0]!.env, { NODE_ENV: 'production', PORT: '8080', FEATURES: '{"search":true}' });
  assert.deepEqual(apps[1]!.env, { NODE_ENV: 'production', QUEUE_URL: 'redis://queue.internal:6379' });
});

test('--env with a name no app defines warns and keeps env', async () => {
  const { apps, warnings } = await load({ envName: 'staging' });
  assert.equal(apps[0]!.env.NODE_ENV, 'development');
  assert.equal(warnings.length, 1);
  assert.match(warnings[0]!, /ecosystem\.config\.js: --env staging: no app defines env_staging/);
});

test('the deploy section is kept as written and changes nothing else', async () => {
  const withDeploy = await load({ envName: 'production' });
  const raw = (await loadConfigFile(FILE)) as Record<string, unknown>;
  assert.deepEqual(withDeploy.deploy, raw.deploy);
  for (const app of withDeploy.apps) assert.deepEqual(JSON.parse(app.deployJson), raw.deploy);

  const { deploy: _deploy, ...rest } = raw;
  const without = compileConfig(rest, baseOptions({ cpuCount: 8, envName: 'production', source: FILE }));
  assert.equal(without.deploy, undefined);
  assert.deepEqual(
    withDeploy.apps.map((a) => ({ ...a, deployJson: '' })),
    without.apps,
  );
});

test('a deploy section that is not what a deploy expects never blocks a start', () => {
  const raw = { apps: [{ script: './app/server.js' }], deploy: 'not validated here' };
  const { apps, deploy, warnings } = compileConfig(raw, baseOptions());
  assert.equal(deploy, 'not validated here');
  assert.equal(apps[0]!.deployJson, '"not validated here"');
  assert.deepEqual(warnings, []);
});

test('the cwd option overrides the config folder as the base for relative paths', async () => {
  // The file says '../app/server.js'; from fixtures/app that is fixtures/app/server.js.
  const { apps } = await loadAndCompile(fixture('esm-package/ecosystem.config.js'), { logsDir: LOGS, cwd: fixture('app') });
  assert.equal(apps[0]!.script, fixture('app/server.js'));
  assert.equal(apps[0]!.cwd, fixture('app'));
  assert.equal(apps[0]!.source, fixture('esm-package/ecosystem.config.js'));
});
