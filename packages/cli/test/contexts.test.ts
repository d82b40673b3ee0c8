import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Command } from 'commander';
import { BadInputError, NotFoundError } from '@fleet/protocol';
import { CommandContext } from '../src/context';
import { EXIT_FAILED, EXIT_OK, EXIT_USAGE, reportError } from '../src/exit-codes';
import { describeTarget, registerContext } from '../src/commands/context';
import {
  addContext,
  contextsPath,
  currentContext,
  loadContexts,
  readToken,
  removeContext,
  useContext,
} from '../src/contexts/context-store';
import { capture } from './helpers';

function tempHome(t: { after(fn: () => void): void }): { home: string; dir: string } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-contexts-'));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  // A home that does not exist yet: the store creates it (0700).
  return { home: path.join(dir, 'home'), dir };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `fleet context ...` through a program of its own, the way main runs a command. */
async function fleet(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  const stdout = capture();
  const stderr = capture();
  const ctx = new CommandContext({ stdout, stderr, env, cwd, onInterrupt: () => () => undefined });
  const program = new Command('fleet')
    .exitOverride()
    .configureOutput({ writeOut: (s) => ctx.out(s), writeErr: (s) => ctx.err(s) });
  registerContext(program, ctx);
  try {
    await program.parseAsync(['context', ...args], { from: 'user' });
    return { code: ctx.exitCode, stdout: stdout.text, stderr: stderr.text };
  } catch (err) {
    const report = reportError(err);
    return { code: report.code, stdout: stdout.text, stderr: stderr.text + report.text };
  }
}

function writeToken(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text, { mode: 0o600 });
  return file;
}

test('add, use, ls, current, rm through the command', async (t) => {
  const { home, dir } = tempHome(t);
  const env = { FLEET_HOME: home };
  writeToken(dir, 'prod.token', 'secret\n');

  let r = await fleet(['add', 'prod', '--controller', 'ctl.example:7070', '--token-file', 'prod.token'], env, dir);
  assert.equal(r.code, EXIT_OK, r.stderr);
  assert.match(r.stdout, /^added context prod \(ctl\.example:7070\)$/m);
  r = await fleet(['add', 'staging', '--controller', '10.0.0.5:7070', '--insecure', '--use'], env, dir);
  assert.equal(r.code, EXIT_OK, r.stderr);
  assert.match(r.stdout, /commands now go to controller staging \(10\.0\.0\.5:7070\)/);

  // The token path is stored absolute, resolved against cwd.
  assert.equal(loadContexts(home).contexts.prod.tokenFile, path.join(dir, 'prod.token'));

  r = await fleet(['current'], env, dir);
  assert.match(r.stdout, /^controller staging \(10\.0\.0\.5:7070\)/);
  r = await fleet(['use', 'prod'], env, dir);
  assert.equal(r.code, EXIT_OK, r.stderr);
  assert.equal(r.stdout, 'commands now go to controller prod (ctl.example:7070)\n');

  r = await fleet(['ls'], env, dir);
  assert.equal(r.code, EXIT_OK, r.stderr);
  const lines = r.stdout.trimEnd().split('\n');
  assert.deepEqual(lines[0].split(/\s+/).filter(Boolean), ['name', 'controller', 'tls', 'token']);
  assert.match(lines[1], /^\*\s+prod\s+ctl\.example:7070\s+system roots\s+\S+prod\.token$/);
  assert.match(lines[2], /^\s+staging\s+10\.0\.0\.5:7070\s+insecure\s+-$/);

  r = await fleet(['ls', '--json'], env, dir);
  const listed = JSON.parse(r.stdout) as { current: string; contexts: Array<Record<string, unknown>> };
  assert.equal(listed.current, 'prod');
  assert.deepEqual(listed.contexts[0], {
    name: 'prod',
    current: true,
    controller: 'ctl.example:7070',
    tokenFile: path.join(dir, 'prod.token'),
    tlsCa: null,
    insecure: false,
    serverName: null,
  });
  assert.equal(listed.contexts[1].insecure, true);

  r = await fleet(['current', '--json'], env, dir);
  assert.deepEqual(JSON.parse(r.stdout), {
    name: 'prod',
    source: 'file',
    controller: 'ctl.example:7070',
    description: 'controller prod (ctl.example:7070)',
  });

  // Adding under an existing name overwrites it.
  r = await fleet(['add', 'prod', '--controller', 'ctl2.example:7071', '--json'], env, dir);
  assert.equal(JSON.parse(r.stdout).replaced, true);
  assert.deepEqual(loadContexts(home).contexts.prod, { controller: 'ctl2.example:7071' });

  r = await fleet(['rm', 'prod'], env, dir);
  assert.equal(r.code, EXIT_OK, r.stderr);
  assert.match(r.stdout, /removed context prod\nit was current; commands now go to the local daemon/);
  assert.equal(loadContexts(home).current, undefined);
  r = await fleet(['current', '--json'], env, dir);
  assert.equal(JSON.parse(r.stdout).name, 'local');
  assert.equal(JSON.parse(r.stdout).source, 'default');

  r = await fleet(['rm', 'prod'], env, dir);
  assert.equal(r.code, EXIT_FAILED);
  assert.match(r.stderr, /^error: no context named 'prod'\n {2}fix: known: staging, or local$/m);
});

test('the file is 0600 in a 0700 folder, replaced without leftovers', (t) => {
  const { home } = tempHome(t);
  addContext(home, 'prod', { controller: 'ctl.example:7070' }, '/');
  const file = contextsPath(home);
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.equal(fs.statSync(home).mode & 0o777, 0o700);
  // A file someone made world-readable is replaced by a 0600 one on the next write.
  fs.chmodSync(file, 0o644);
  useContext(home, 'prod');
  assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  assert.deepEqual(fs.readdirSync(home), ['contexts.json']);
  assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), {
    version: 1,
    current: 'prod',
    contexts: { prod: { controller: 'ctl.example:7070' } },
  });
});

test('a bad controller address is refused with an example (usage, exit 2)', async (t) => {
  const { home, dir } = tempHome(t);
  for (const bad of ['ctl.example', 'ctl.example:', 'ctl.example:0', 'ctl.example:65536', 'ctl.example:http', 'https://ctl.example:7070', ':7070', '::1:7070', 'a b:7070']) {
    assert.throws(
      () => addContext(home, 'prod', { controller: bad }, dir),
      (err: unknown) =>
        err instanceof BadInputError &&
        err.message.startsWith(`invalid controller address '${bad}'`) &&
        err.hint === 'give host:port, e.g. fleet context add prod --controller ctl.example:7070 --token-file ~/.fleet/prod.token',
      bad,
    );
  }
  for (const good of ['ctl.example:7070', '127.0.0.1:1', '[::1]:65535', 'localhost:7070']) {
    addContext(home, 'ok', { controller: good }, dir);
  }
  const r = await fleet(['add', 'prod', '--controller', 'ctl.example'], { FLEET_HOME: home }, dir);
  assert.equal(r.code, EXIT_USAGE);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^error: invalid controller address 'ctl\.example': expected host:port\n {2}fix: give host:port, e\.g\. fleet context add prod --controller ctl\.example:7070/);
  assert.equal(loadContexts(home).contexts.prod, undefined);
  // Missing --controller is commander's usage error.
  assert.equal((await fleet(['add', 'prod'], { FLEET_HOME: home }, dir)).code, EXIT_USAGE);
});

test('a missing token or CA file is named in the error (exit 1), and nothing is saved', async (t) => {
  const { home, dir } = tempHome(t);
  const r = await fleet(['add', 'prod', '--controller', 'ctl.example:7070', '--token-file', 'nope.token'], { FLEET_HOME: home }, dir);
  assert.equal(r.code, EXIT_FAILED);
  assert.match(r.stderr, new RegExp(`^error: token file ${path.join(dir, 'nope.token')} does not exist\n`));
  assert.equal(fs.existsSync(contextsPath(home)), false);
  assert.throws(
    () => addContext(home, 'prod', { controller: 'ctl.example:7070', tlsCa: dir }, dir),
    (err: unknown) => err instanceof BadInputError && err.message === `TLS CA file ${dir} is not a file`,
  );
});

test('--insecure excludes --tls-ca and --server-name', async (t) => {
  const { home, dir } = tempHome(t);
  const ca = writeToken(dir, 'ca.pem', 'pem');
  const env = { FLEET_HOME: home };
  let r = await fleet(['add', 'prod', '--controller', 'ctl.example:7070', '--insecure', '--tls-ca', ca], env, dir);
  assert.equal(r.code, EXIT_USAGE);
  assert.match(r.stderr, /--insecure and --tls-ca exclude each other/);
  r = await fleet(['add', 'prod', '--controller', 'ctl.example:7070', '--insecure', '--server-name', 'ctl'], env, dir);
  assert.equal(r.code, EXIT_USAGE);
  r = await fleet(['add', 'prod', '--controller', '10.0.0.5:7070', '--tls-ca', 'ca.pem', '--server-name', 'ctl.internal'], env, dir);
  assert.equal(r.code, EXIT_OK, r.stderr);
  r = await fleet(['ls'], env, dir);
  assert.match(r.stdout, new RegExp(`ca ${ca}, as ctl\\.internal`));
});

test("'local' is reserved: add refuses it, use local means the local daemon, rm refuses it", async (t) => {
  const { home, dir } = tempHome(t);
  const env = { FLEET_HOME: home };
  let r = await fleet(['add', 'local', '--controller', 'ctl.example:7070'], env, dir);
  assert.equal(r.code, EXIT_USAGE);
  assert.match(r.stderr, /^error: 'local' is reserved/);
  assert.throws(() => addContext(home, 'local', { controller: 'ctl.example:7070' }, dir), BadInputError);
  assert.throws(() => addContext(home, '-x', { controller: 'ctl.example:7070' }, dir), /invalid context name '-x'/);

  addContext(home, 'prod', { controller: 'ctl.example:7070' }, dir);
  useContext(home, 'prod');
  r = await fleet(['use', 'local'], env, dir);
  assert.equal(r.code, EXIT_OK, r.stderr);
  assert.match(r.stdout, /^commands now go to the local daemon \(/);
  assert.equal(currentContext(home, {}), undefined);
  assert.equal(describeTarget(home, {}), `local daemon (${home})`);
  assert.deepEqual(Object.keys(loadContexts(home).contexts), ['prod']);

  r = await fleet(['rm', 'local'], env, dir);
  assert.equal(r.code, EXIT_USAGE);
  assert.throws(() => removeContext(home, 'local'), BadInputError);
});

test('FLEET_CONTEXT overrides the saved choice; local means none; an unknown name is an error', async (t) => {
  const { home, dir } = tempHome(t);
  addContext(home, 'prod', { controller: 'ctl.example:7070' }, dir);
  addContext(home, 'staging', { controller: 'stg.example:7070' }, dir);
  useContext(home, 'prod');

  assert.equal(currentContext(home, {})?.name, 'prod');
  assert.deepEqual(currentContext(home, { FLEET_CONTEXT: 'staging' }), {
    name: 'staging',
    entry: { controller: 'stg.example:7070' },
    source: 'env',
  });
  assert.equal(currentContext(home, { FLEET_CONTEXT: 'local' }), undefined);
  assert.equal(currentContext(home, { FLEET_CONTEXT: '' })?.name, 'prod');
  assert.equal(describeTarget(home, { FLEET_CONTEXT: 'staging' }), 'controller staging (stg.example:7070)');
  assert.throws(
    () => currentContext(home, { FLEET_CONTEXT: 'qa' }),
    (err: unknown) =>
      err instanceof NotFoundError &&
      err.message === "no context named 'qa' (set in FLEET_CONTEXT)" &&
      err.hint === 'known: prod, staging, or local',
  );
  // Names are own keys only: 'constructor' is not found on Object.prototype.
  assert.throws(() => useContext(home, 'constructor'), NotFoundError);

  const env = { FLEET_HOME: home, FLEET_CONTEXT: 'staging' };
  let r = await fleet(['current'], env, dir);
  assert.equal(r.stdout, 'controller staging (stg.example:7070) (from FLEET_CONTEXT)\n');
  r = await fleet(['ls'], env, dir);
  assert.match(r.stdout, /^\*\s+staging/m);
  r = await fleet(['use', 'prod'], env, dir);
  assert.match(r.stderr, /warning: FLEET_CONTEXT=staging is set and overrides this in this shell/);
});

test('readToken: the file trimmed, FLEET_TOKEN over it, clear errors for missing and empty files', (t) => {
  const { dir } = tempHome(t);
  const tokenFile = writeToken(dir, 'prod.token', '  abc123 \n');
  const entry = { controller: 'ctl.example:7070', tokenFile };
  assert.equal(readToken(entry, {}), 'abc123');
  assert.equal(readToken(entry, { FLEET_TOKEN: 'from-ci' }), 'from-ci');
  assert.equal(readToken(entry, { FLEET_TOKEN: '' }), 'abc123');
  assert.equal(readToken({ controller: 'ctl.example:7070' }, { FLEET_TOKEN: 'from-ci' }), 'from-ci');
  assert.equal(readToken({ controller: 'ctl.example:7070' }, {}), undefined);

  fs.writeFileSync(tokenFile, '\n');
  assert.throws(() => readToken(entry, {}), (err: unknown) => err instanceof BadInputError && err.message === `token file ${tokenFile} is empty`);
  fs.rmSync(tokenFile);
  assert.throws(
    () => readToken(entry, {}),
    (err: unknown) => err instanceof BadInputError && err.message === `token file ${tokenFile} does not exist` && /FLEET_TOKEN/.test(err.hint ?? ''),
  );
  // FLEET_TOKEN still works when the file is gone.
  assert.equal(readToken(entry, { FLEET_TOKEN: 'from-ci' }), 'from-ci');
});

test('a damaged or newer file is an error naming it', (t) => {
  const { home } = tempHome(t);
  fs.mkdirSync(home, { recursive: true });
  fs.writeFileSync(contextsPath(home), '{ nope');
  assert.throws(() => loadContexts(home), (err: unknown) => err instanceof BadInputError && err.message.startsWith(`${contextsPath(home)} is damaged: not valid JSON`));
  fs.writeFileSync(contextsPath(home), JSON.stringify({ version: 2, contexts: {} }));
  assert.throws(() => loadContexts(home), /unknown version 2/);
  fs.writeFileSync(contextsPath(home), JSON.stringify({ version: 1, current: 'gone', contexts: {} }));
  assert.throws(() => currentContext(home, {}), (err: unknown) => err instanceof NotFoundError && err.message.includes("'gone'"));
});

test('ls with no contexts says how to add one', async (t) => {
  const { home, dir } = tempHome(t);
  const r = await fleet(['ls'], { FLEET_HOME: home }, dir);
  assert.equal(r.code, EXIT_OK);
  assert.match(r.stdout, /^no contexts; commands go to the local daemon/);
  assert.deepEqual(JSON.parse((await fleet(['ls', '--json'], { FLEET_HOME: home }, dir)).stdout), { current: 'local', contexts: [] });
  assert.equal(fs.existsSync(home), false, 'reading never creates the home');
});
