import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, isConfigFile, loadConfigFile } from '../../src/config';
import { BadInputError } from '../../src/errors';
import { fixture, shown, tempDir } from './fixtures';

test('isConfigFile tells config files from scripts by name', () => {
  for (const yes of [
    'ecosystem.config.js',
    'ecosystem.config.cjs',
    'ecosystem.config.mjs',
    'ecosystem.js',
    'ecosystem.prod.json',
    'ecosystem.json5',
    'ecosystem.yaml',
    'ecosystem.yml',
    'pm2.config.js',
    '/srv/app/fleet.config.mjs',
    'processes.json',
    'apps.yaml',
    'apps.yml',
  ]) {
    assert.equal(isConfigFile(yes), true, yes);
  }
  for (const no of ['app.js', 'server.mjs', 'index.cjs', 'main.py', 'bin/www', 'config.ts', 'ecosystem.config.ts', 'npm']) {
    assert.equal(isConfigFile(no), false, no);
  }
});

test('loads CommonJS (.js, .cjs), ES modules (.mjs, .js in a module package), JSON with comments and YAML', async () => {
  const apps = async (file: string): Promise<unknown> => ((await loadConfigFile(fixture(file))) as { apps: unknown }).apps;
  assert.equal(((await apps('ecosystem.config.js')) as unknown[]).length, 2);
  assert.deepEqual(await apps('ecosystem.config.cjs'), [{ name: 'cjs-app', script: 'app/server.js' }]);
  assert.deepEqual(await apps('ecosystem.config.mjs'), [{ name: 'esm-app', script: './app/server.js', instances: 2 }]);
  assert.deepEqual(await apps('named-exports.config.mjs'), [{ name: 'named-app', script: './app/worker.js' }]);
  assert.deepEqual(await apps('esm-package/ecosystem.config.js'), [{ name: 'esm-js', script: '../app/server.js' }]);
  assert.deepEqual(await apps('ecosystem.json'), [
    { name: 'json-app', script: './app/server.js', instances: 2, exec_mode: 'cluster_mode', env: { NODE_ENV: 'production' } },
  ]);
  const yaml = (await apps('ecosystem.yaml')) as Record<string, unknown>[];
  assert.equal(yaml[0]!.max_memory_restart, '1G');
  assert.deepEqual(yaml[0]!.env, { NODE_ENV: 'production', DEBUG: false });
});

test('a JS config is read fresh on every load', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'ecosystem.config.js');
  fs.writeFileSync(file, `module.exports = { apps: [{ name: 'one', script: 'x.js' }] };\n`);
  assert.equal(((await loadConfigFile(file)) as { apps: { name: string }[] }).apps[0]!.name, 'one');
  fs.writeFileSync(file, `module.exports = { apps: [{ name: 'two', script: 'x.js' }] };\n`);
  assert.equal(((await loadConfigFile(file)) as { apps: { name: string }[] }).apps[0]!.name, 'two');

  const mjs = path.join(dir, 'ecosystem.config.mjs');
  fs.writeFileSync(mjs, `export default { apps: [{ name: 'one', script: 'x.js' }] };\n`);
  assert.equal(((await loadConfigFile(mjs)) as { apps: { name: string }[] }).apps[0]!.name, 'one');
  fs.writeFileSync(mjs, `export default { apps: [{ name: 'two', script: 'x.js' }] };\n`);
  assert.equal(((await loadConfigFile(mjs)) as { apps: { name: string }[] }).apps[0]!.name, 'two');
});

/** Asserts a load fails with a ConfigError at file:line that keeps the original message. */
async function assertLoadError(file: string, line: number, original: RegExp): Promise<void> {
  await assert.rejects(loadConfigFile(fixture(file)), (err: unknown) => {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${String(err)}`);
    assert.ok(err instanceof BadInputError);
    assert.equal(err.line, line);
    assert.equal(err.file, fixture(file));
    assert.ok(err.message.startsWith(`${shown(file)}:${line}: `), err.message);
    assert.match(err.message, original);
    assert.ok(err.hint, 'a hint says what to do');
    return true;
  });
}

test('a JS config that throws reports file:line and its own message', async () => {
  delete process.env.FLEET_FIXTURE_PORT;
  await assertLoadError('throws.config.js', 4, /FLEET_FIXTURE_PORT is not set/);
});

test('an ES module config that throws reports file:line', async () => {
  delete process.env.FLEET_FIXTURE_MISSING;
  await assertLoadError('throws.config.mjs', 3, /missing FLEET_FIXTURE_MISSING/);
});

test('a JS syntax error reports file:line', async () => {
  await assertLoadError('syntax-error.config.js', 4, /SyntaxError/);
});

test('JSON5 and YAML syntax errors report file:line', async () => {
  await assertLoadError('broken.json5', 4, /invalid character/);
  await assertLoadError('broken.yaml', 4, /YAMLParseError/);
});

test('a missing file or an unknown extension is a ConfigError with a hint', async () => {
  await assert.rejects(loadConfigFile(fixture('nope.config.js')), (err: unknown) => {
    return err instanceof ConfigError && /not found/.test(err.message) && err.hint !== undefined;
  });
  await assert.rejects(loadConfigFile(fixture('app/job.py')), (err: unknown) => {
    return err instanceof ConfigError && /not a config file/.test(err.message);
  });
});

test('a config requiring an uninstalled module says to install it', async (t) => {
  const dir = tempDir(t);
  const file = path.join(dir, 'ecosystem.config.js');
  fs.writeFileSync(file, `// needs dotenv\nrequire('fleet-no-such-module-xyz');\nmodule.exports = {};\n`);
  await assert.rejects(loadConfigFile(file), (err: unknown) => {
    return err instanceof ConfigError && err.line === 2 && /npm install/.test(err.hint ?? '');
  });
});
