import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from 'commander';
import { ExecMode, RELEASE_DIR, type AppSpec } from '@fleet/protocol';
import { type DeployFlags, deploySettings, givenOptions } from '../src/deploy/deploy-settings';
import { releaseScript, releaseSpec } from '../src/deploy/release-spec';

test('the deploy section gives the strategy; deploy.<env> and flags go over it', () => {
  const section = JSON.stringify({
    batch_size: 2,
    healthUrl: 'http://127.0.0.1:${PORT}/health',
    min_healthy_time: '5s',
    install: 'npm ci --omit=dev',
    // PM2's ssh deploy keys are not Fleet's: left alone.
    production: { host: ['a'], repo: 'git@x', canary: 1, auto_promote: true },
  });
  const base = deploySettings(section, undefined, {});
  assert.equal(base.strategy.batchSize, 2);
  assert.equal(base.strategy.healthUrl, 'http://127.0.0.1:${PORT}/health');
  assert.equal(base.strategy.minHealthyMs, 5000);
  assert.equal(base.strategy.installCommand, 'npm ci --omit=dev');
  assert.equal(base.strategy.canary, 0);
  const prod = deploySettings(section, 'production', { batch: 3, autoRollback: false });
  assert.equal(prod.strategy.canary, 1);
  assert.equal(prod.strategy.autoPromote, true);
  assert.equal(prod.strategy.batchSize, 3, 'a flag beats the file');
  assert.equal(prod.strategy.noAutoRollback, true);
});

test("only typed flags go over the file: commander's default for --no-auto-rollback does not", () => {
  const parse = (args: string[]): DeployFlags => {
    const cmd = new Command('deploy').exitOverride().option('--batch <n>', '', Number).option('--no-auto-rollback').option('--install <command>');
    cmd.parse(args, { from: 'user' });
    assert.equal(cmd.opts().autoRollback, !args.includes('--no-auto-rollback'), 'commander fills autoRollback in either way');
    return givenOptions(cmd.opts<DeployFlags>(), (key) => cmd.getOptionValueSource(key));
  };
  const section = JSON.stringify({ auto_rollback: false, batch: 2, install: 'npm ci' });
  assert.deepEqual(parse([]), {});
  assert.equal(deploySettings(section, undefined, parse([])).strategy.noAutoRollback, true, 'the file holds');
  assert.deepEqual(parse(['--no-auto-rollback', '--batch', '3']), { autoRollback: false, batch: 3 });
  const typed = deploySettings(section, undefined, parse(['--batch', '3'])).strategy;
  assert.equal(typed.batchSize, 3);
  assert.equal(typed.noAutoRollback, true);
  assert.equal(typed.installCommand, 'npm ci');
  assert.equal(deploySettings('', undefined, parse([])).strategy.noAutoRollback, false, 'no file, no flag: roll back');
});

test('unset values stay 0 (the controller applies the published defaults); an explicit 0 min_healthy_time means no wait', () => {
  const s = deploySettings('', undefined, {}).strategy;
  assert.equal(s.batchSize, 0);
  assert.equal(s.minHealthyMs, 0);
  assert.equal(deploySettings('', undefined, { minHealthyTime: '0' }).strategy.minHealthyMs, 1);
});

test('bad values are usage errors naming the setting', () => {
  assert.throws(() => deploySettings('', undefined, { batch: 0 }), /--batch 0/);
  assert.throws(() => deploySettings(JSON.stringify({ canary: 'two' }), undefined, {}), /--canary "two" is not a whole number/);
  assert.throws(() => deploySettings(JSON.stringify({ healthy_deadline: 'soon' }), undefined, {}), /healthy_deadline/);
});

function spec(extra: Partial<AppSpec>): AppSpec {
  return {
    name: 'api', script: '/home/me/api/server.js', args: ['/home/me/api/conf.json', '--x'], cwd: '/home/me/api', interpreter: 'node', interpreterArgs: [],
    execMode: ExecMode.EXEC_MODE_CLUSTER, instances: 2, env: {}, instanceVar: '', incrementVar: '', waitReady: false, listenTimeoutMs: 0, killTimeoutMs: 0,
    killSignal: 'SIGINT', restart: undefined, log: { outFile: '/home/me/api/logs/out.log', errorFile: '/@fleet-host-logs/api-error.log', dateFormat: '', merge: false, json: false, maxSizeBytes: 0, retain: 0, compress: false, disabled: false },
    watch: { enabled: true, paths: [], ignore: [], debounceMs: 0 }, source: '', deployJson: '', release: 0, ...extra,
  };
}

test('paths inside the app folder become release paths; others stay; watch is off', () => {
  const s = releaseSpec(spec({}), '/home/me/api');
  assert.equal(s.cwd, RELEASE_DIR);
  assert.equal(s.script, `${RELEASE_DIR}/server.js`);
  assert.deepEqual(s.args, [`${RELEASE_DIR}/conf.json`, '--x']);
  assert.equal(s.log!.outFile, `${RELEASE_DIR}/logs/out.log`);
  assert.equal(s.log!.errorFile, '/@fleet-host-logs/api-error.log');
  assert.equal(s.watch!.enabled, false);
  assert.equal(releaseScript(s), 'server.js');
  assert.equal(releaseScript(releaseSpec(spec({ script: 'npm' }), '/home/me/api')), undefined);
});

test('an app whose cwd is outside the deployed folder is refused', () => {
  assert.throws(() => releaseSpec(spec({ cwd: '/srv/other' }), '/home/me/api'), /outside the app folder/);
  // A sibling folder sharing the prefix is outside too.
  assert.throws(() => releaseSpec(spec({ cwd: '/home/me/api2' }), '/home/me/api'), /outside the app folder/);
});
