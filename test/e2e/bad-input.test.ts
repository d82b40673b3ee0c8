// Bad input through the real CLI: each case gets a clear message naming what
// is wrong (file and line for a broken config), a non-zero exit code scripts
// can rely on (2 for a bad command line, 1 for everything else), and leaves
// every app already running exactly as it was: same pids, still serving.
import { after, before, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FIXTURE_APP, FleetHome, freePort, httpGet, waitFor, type CliResult } from '../harness';

describe('bad input', () => {
  const h = new FleetHome();
  let port = 0;
  let poolPort = 0;
  let baseline: string[] = [];

  function file(name: string, text: string): string {
    const f = path.join(h.home, name);
    fs.writeFileSync(f, text);
    return f;
  }

  /** Every instance as "app#i pid status restarts": what must not change. */
  function fleetState(): string[] {
    return h
      .ls()
      .map((r) => `${r.app}#${r.instance} pid=${r.pid} ${r.status} restarts=${r.restarts}`)
      .sort();
  }

  /** Runs a bad command and checks that the apps already running did not notice. */
  async function refused(args: string[], expectCode: number, opts: { cwd?: string } = {}): Promise<CliResult> {
    const r = h.fleet(args, opts);
    assert.equal(r.code, expectCode, `fleet ${args.join(' ')} exited ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
    assert.match(r.stderr, /\S/, 'a message on stderr');
    assert.deepEqual(fleetState(), baseline, 'apps already running were disturbed');
    assert.equal((await httpGet(port)).body, 'steady');
    assert.equal((await httpGet(poolPort)).body, 'pool');
    return r;
  }

  before(async () => {
    port = await freePort();
    poolPort = await freePort();
    const config = file(
      'running.config.js',
      `module.exports = { apps: [
        { name: 'steady', script: ${JSON.stringify(FIXTURE_APP)}, env: { PORT: '${port}', BODY: 'steady' } },
        { name: 'pool', script: ${JSON.stringify(FIXTURE_APP)}, instances: 2, exec_mode: 'cluster', env: { PORT: '${poolPort}', BODY: 'pool' } },
      ] };\n`,
    );
    const r = h.fleet(['start', config]);
    assert.equal(r.code, 0, r.stderr);
    await waitFor(() => httpGet(port).then((res) => res.body === 'steady'), { message: 'steady to serve' });
    baseline = fleetState();
    assert.equal(baseline.length, 3);
  });
  after(() => h.cleanup());

  test('a script that does not exist: exit 1, the path named, nothing registered', async () => {
    const missing = path.join(h.home, 'nope', 'server.js');
    const r = await refused(['start', missing], 1);
    assert.ok(r.stderr.includes(missing), r.stderr);
    assert.match(r.stderr, /not found/);
    const inConfig = file('missing.config.js', `module.exports = { apps: [{ name: 'ghost', script: './ghost.js' }] };\n`);
    const r2 = await refused(['start', inConfig], 1);
    assert.match(r2.stderr, /missing\.config\.js/);
    assert.match(r2.stderr, /ghost\.js/);
    assert.deepEqual(h.rows('ghost'), []);
  });

  test('a config file that throws: the message has file:line and the error', async () => {
    const f = file('throws.config.js', `const base = { cwd: __dirname };\n\nmodule.exports = {\n  apps: [{ ...base, name: 'x', script: notDefined }],\n};\n`);
    const r = await refused(['start', f], 1);
    assert.ok(r.stderr.includes(`${f}:4`), `expected ${f}:4 in: ${r.stderr}`);
    assert.match(r.stderr, /notDefined is not defined/);
  });

  test('a config file that does not parse (JSON, YAML): file:line', async () => {
    const json = file('broken.json', `{\n  // comment\n  "apps": [\n    { "name": "x" "script": "a.js" }\n  ]\n}\n`);
    const r = await refused(['start', json], 1);
    assert.ok(r.stderr.includes(`${json}:4`), `expected ${json}:4 in: ${r.stderr}`);
    const yaml = file('broken.yaml', `apps:\n  - name: x\n    script: a.js\n   env: {}\n`);
    const r2 = await refused(['start', yaml], 1);
    assert.match(r2.stderr, new RegExp(`${yaml.replace(/\./g, '\\.')}:\\d+`), r2.stderr);
  });

  test('a config file with a bad value: the app, the key and a fix', async () => {
    const f = file('bad-value.config.js', `module.exports = { apps: [{ name: 'badval', script: ${JSON.stringify(FIXTURE_APP)}, max_memory_restart: 'lots' }] };\n`);
    const r = await refused(['start', f], 1);
    assert.match(r.stderr, /badval/);
    assert.match(r.stderr, /max_memory_restart/);
    assert.match(r.stderr, /fix:/);
    assert.deepEqual(h.rows('badval'), []);
  });

  test('an invalid cron expression, on the command line or in a file', async () => {
    const r = await refused(['start', FIXTURE_APP, '--name', 'cronny', '--cron-restart', '61 * * * *'], 1);
    assert.match(r.stderr, /cron/);
    assert.match(r.stderr, /61 \* \* \* \*/);
    const f = file('cron.config.js', `module.exports = { apps: [{ name: 'cronny', script: ${JSON.stringify(FIXTURE_APP)}, cron_restart: '* * *' }] };\n`);
    const r2 = await refused(['start', f], 1);
    assert.match(r2.stderr, /cron\.config\.js/);
    assert.match(r2.stderr, /cron_restart/);
    assert.deepEqual(h.rows('cronny'), []);
  });

  test('-i 0 is bad usage (exit 2); so are malformed flag values', async () => {
    const r = await refused(['start', FIXTURE_APP, '--name', 'zero', '-i', '0'], 2);
    assert.match(r.stderr, /instances/);
    await refused(['start', FIXTURE_APP, '--name', 'zero', '--kill-timeout', 'soon'], 2);
    await refused(['start', FIXTURE_APP, '--name', 'zero', '--max-memory-restart', '12Q'], 2);
    await refused(['scale', 'pool', 'many'], 2);
    await refused(['no-such-command'], 2);
    assert.deepEqual(h.rows('zero'), []);
  });

  test('an unknown app or id: exit 1, the name given and a pointer to fleet ls', async () => {
    for (const args of [['stop', 'nosuchapp'], ['restart', 'nosuchapp'], ['reload', 'nosuchapp'], ['delete', 'nosuchapp'], ['describe', 'nosuchapp'], ['scale', 'nosuchapp', '2'], ['stop', '42']]) {
      const r = await refused(args, 1);
      assert.match(r.stderr, new RegExp(`"${args[1]}"`), `fleet ${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stderr, /fleet ls/, `fleet ${args.join(' ')} should point at fleet ls: ${r.stderr}`);
    }
  });

  for (const mode of ['fork', 'cluster'] as const) {
    test(`a port already in use (${mode} mode): start fails naming the port, the first app keeps serving`, async () => {
      const name = `clash-${mode}`;
      const f = file(
        `${name}.config.js`,
        `module.exports = { apps: [{ name: '${name}', script: ${JSON.stringify(FIXTURE_APP)}, exec_mode: '${mode}', env: { PORT: '${port}', BODY: 'intruder' } }] };\n`,
      );
      const r = h.fleet(['start', f]);
      assert.equal(r.code, 1, `start on a taken port must fail: ${r.stdout}${r.stderr}`);
      assert.match(r.stderr, new RegExp(`port ${port} is already in use`), r.stderr);
      // The failed app must not take the port over, ever: watch it crash out.
      await waitFor(() => h.rows(name).every((row) => row.status === 'errored' || row.status === 'stopped'), {
        timeoutMs: 15_000,
        message: `${name} to give up`,
      });
      assert.deepEqual(fleetState().filter((s) => !s.startsWith(name)), baseline);
      assert.equal((await httpGet(port)).body, 'steady');
      assert.equal(h.fleet(['delete', name]).code, 0);
      assert.deepEqual(fleetState(), baseline);
    });
  }
});
