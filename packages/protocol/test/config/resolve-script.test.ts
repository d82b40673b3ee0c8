import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { ConfigError, compileApp } from '../../src/config';
import { FAKE_PATH, baseOptions, fixture, tempDir } from './fixtures';

function resolve(raw: Record<string, unknown>, cwd?: string): { script: string; interpreter: string; args: string[]; warnings: string[] } {
  const { spec, warnings } = compileApp(raw, baseOptions(cwd ? { cwd } : {}));
  return { script: spec.script, interpreter: spec.interpreter, args: spec.args, warnings };
}

test('interpreters by extension', (t) => {
  assert.equal(resolve({ script: './app/server.js' }).interpreter, 'node');
  assert.equal(resolve({ script: './app/job.py' }).interpreter, 'python3');
  const dir = tempDir(t);
  for (const [ext, want] of [
    ['.cjs', 'node'],
    ['.mjs', 'node'],
    ['.rb', 'ruby'],
    ['.sh', 'bash'],
    ['.pl', 'perl'],
    ['.php', 'php'],
  ]) {
    fs.writeFileSync(path.join(dir, `x${ext}`), '');
    assert.equal(resolve({ script: `x${ext}` }, dir).interpreter, want, ext);
  }
});

test('an explicit interpreter wins, "none" included', () => {
  assert.equal(resolve({ script: './app/job.py', interpreter: 'python3.11' }).interpreter, 'python3.11');
  assert.equal(resolve({ script: './app/bin/tool', interpreter: 'none' }).interpreter, 'none');
  assert.equal(resolve({ script: './app/server.js', exec_interpreter: 'bun' }).interpreter, 'bun');
});

test('no extension: a node shebang means node, an executable runs itself, another shebang names the program', () => {
  const www = resolve({ script: './app/bin/www' });
  assert.deepEqual([www.script, www.interpreter], [fixture('app/bin/www'), 'node']);
  const tool = resolve({ script: './app/bin/tool' });
  assert.deepEqual([tool.script, tool.interpreter], [fixture('app/bin/tool'), 'none']);
  assert.equal(resolve({ script: './app/bin/report' }).interpreter, 'python3');
});

test('a text file with no extension and no shebang runs with node, as in PM2; a non-executable binary is refused', (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'plain'), 'console.log(1)\n');
  assert.equal(resolve({ script: 'plain' }, dir).interpreter, 'node');
  fs.writeFileSync(path.join(dir, 'blob'), Buffer.from([0x7f, 0x45, 0x4c, 0x46, 0, 0, 0]));
  assert.throws(() => resolve({ script: './blob' }, dir), (err: unknown) => err instanceof ConfigError && /chmod \+x/.test(err.hint ?? ''));
});

test('TypeScript runs with node, with a warning unless node_args bring a loader', (t) => {
  const dir = tempDir(t);
  fs.writeFileSync(path.join(dir, 'main.ts'), 'export {};\n');
  const bare = resolve({ script: 'main.ts' }, dir);
  assert.equal(bare.interpreter, 'node');
  assert.match(bare.warnings[0]!, /TypeScript/);
  const loader = resolve({ script: 'main.ts', node_args: '--import tsx' }, dir);
  assert.deepEqual(loader.warnings, []);
});

test('a bare command on the PATH: npm with args "start"', () => {
  const npm = resolve({ script: 'npm', args: 'start' });
  assert.deepEqual(npm, { script: 'npm', interpreter: 'none', args: ['start'], warnings: [] });
  // Run through an interpreter, the program needs its real path.
  assert.equal(resolve({ script: 'npm', interpreter: 'node' }).script, path.join(FAKE_PATH, 'npm'));
});

test('a command line runs with bash -c, as PM2 does', () => {
  const cmd = resolve({ script: 'npm run start -- --port 3001' });
  assert.deepEqual(cmd, { script: 'bash', interpreter: 'none', args: ['-c', 'npm run start -- --port 3001'], warnings: [] });
  const withArgs = resolve({ script: 'npm run start', args: '--x' });
  assert.deepEqual(withArgs.args, ['-c', 'npm run start']);
  assert.match(withArgs.warnings[0]!, /args is ignored/);
});

test('a file path wins over a command of the same name', () => {
  assert.equal(resolve({ script: 'npm' }, FAKE_PATH).script, path.join(FAKE_PATH, 'npm'));
});

test('missing scripts, directories and nvm interpreters are errors with hints', () => {
  const check = (raw: Record<string, unknown>, message: RegExp) =>
    assert.throws(() => resolve(raw), (err: unknown) => err instanceof ConfigError && message.test(err.message) && err.hint !== undefined);
  check({ script: './srv.js' }, /script "\.\/srv\.js" not found \(looked in \/.*\/srv\.js\)/);
  check({ script: 'no-such-command-xyz' }, /not found \(looked in .* and on PATH\)/);
  check({ script: './nope.js --port 1' }, /not found/);
  check({ script: './app' }, /is a directory/);
  check({ script: './app/server.js', interpreter: 'node@18.0.0' }, /nvm/);
});
