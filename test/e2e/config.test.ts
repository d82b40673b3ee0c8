// Config files as PM2 users write them, through the real CLI and daemon: a
// realistic ecosystem file with env_production and a deploy section, JSON with
// comments, YAML, `npm start` as the script, unknown keys (a warning, or an
// error with --strict), `fleet config check` that starts nothing, and the rule
// that apps get the env of their config, not of the shell that ran `start`.
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { FleetHome, ROOT, freePort, httpGet, isAlive, waitFor } from '../harness';

const ENV_APP = path.join(ROOT, 'test/fixtures/env-app.js');

interface Seen {
  env: Record<string, string>;
  argv: string[];
  cwd: string;
}

/** Every `env {...}` line an app of this home printed, oldest first. */
function seenEnvs(h: FleetHome, app: string): Seen[] {
  let text = '';
  try {
    text = fs.readFileSync(path.join(h.home, 'logs', `${app}-out.log`), 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .map((l) => /env (\{.*\})$/.exec(l)?.[1])
    .filter((j): j is string => j !== undefined)
    .map((j) => JSON.parse(j) as Seen);
}

async function latestEnv(h: FleetHome, app: string, count = 1): Promise<Seen> {
  const all = await waitFor(() => (seenEnvs(h, app).length >= count ? seenEnvs(h, app) : undefined), {
    message: `${app} to print its env (${count})`,
  });
  return all.at(-1)!;
}

function write(file: string, text: string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
  return file;
}

describe('config files', () => {
  const h = new FleetHome();
  after(() => h.cleanup());

  test('a realistic PM2 ecosystem file with --env production: the app sees production values', async () => {
    const port = await freePort();
    const project = path.join(h.home, 'shop');
    write(path.join(project, 'server.js'), `require(${JSON.stringify(ENV_APP)});\n`);
    // As found in the wild: relative script, camelCase and snake_case mixed,
    // sizes and numbers as strings, time, watch off, a deploy section.
    write(
      path.join(project, 'ecosystem.config.js'),
      `// PM2 ecosystem file
module.exports = {
  apps: [
    {
      name: 'shop-api',
      script: './server.js',
      instances: '2',
      exec_mode: 'cluster',
      watch: false,
      ignore_watch: ['node_modules', 'logs'],
      maxMemoryRestart: '1G',
      killTimeout: 3000,
      time: true,
      merge_logs: true,
      env: {
        NODE_ENV: 'development',
        PORT: 3999,
        API_URL: 'http://localhost:4000',
        LOG_LEVEL: 'debug',
      },
      env_production: {
        NODE_ENV: 'production',
        PORT: ${port},
        API_URL: 'https://api.example.com',
      },
    },
  ],
  deploy: {
    production: {
      user: 'node',
      host: ['212.83.163.1'],
      ref: 'origin/main',
      repo: 'git@github.com:example/shop.git',
      path: '/var/www/production',
      'post-deploy': 'npm install && pm2 reload ecosystem.config.js --env production',
    },
  },
};
`,
    );
    const r = h.fleet(['start', 'ecosystem.config.js', '--env', 'production'], { cwd: project });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.doesNotMatch(r.stderr, /unknown key/, 'every key of this file is a PM2 key');
    const rows = h.rows('shop-api');
    assert.equal(rows.length, 2);
    assert.ok(rows.every((row) => row.status === 'online' && row.execMode === 'cluster'), JSON.stringify(rows));

    const res = await httpGet(port);
    assert.equal(res.status, 200);
    const seen = JSON.parse(res.body) as Seen;
    assert.equal(seen.env.NODE_ENV, 'production');
    assert.equal(seen.env.API_URL, 'https://api.example.com');
    assert.equal(seen.env.PORT, String(port));
    assert.equal(seen.env.LOG_LEVEL, 'debug', 'env_production is layered over env, not instead of it');
    assert.equal(fs.realpathSync(seen.cwd), fs.realpathSync(project), 'relative paths are relative to the config file');
    // Both instances, each with its NODE_APP_INSTANCE.
    const envs = await waitFor(() => (seenEnvs(h, 'shop-api').length >= 2 ? seenEnvs(h, 'shop-api') : undefined), {
      message: 'both instances to print their env',
    });
    assert.deepEqual(envs.map((s) => s.env.NODE_APP_INSTANCE).sort(), ['0', '1']);
    // time: true puts a timestamp before each line.
    const firstLine = fs.readFileSync(path.join(h.home, 'logs', 'shop-api-out.log'), 'utf8').split('\n')[0]!;
    assert.match(firstLine, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/);

    const d = h.fleet(['describe', 'shop-api', '--json']).json<{ spec: { killTimeoutMs: number; restart: { maxMemoryBytes: number } } }[]>()[0]!;
    assert.equal(d.spec.killTimeoutMs, 3000);
    assert.equal(d.spec.restart.maxMemoryBytes, 1024 ** 3);
    assert.equal(h.fleet(['delete', 'shop-api']).code, 0);
  });

  test("the shell's env reaches the app only with --update-env; the config's env wins either way", async () => {
    const config = write(
      path.join(h.home, 'shellenv', 'ecosystem.config.js'),
      `module.exports = { apps: [{ name: 'shellenv', script: ${JSON.stringify(ENV_APP)}, env: { FROM_CONFIG: 'config' } }] };\n`,
    );
    const shell = { SHELL_ONLY: 'from-shell', FROM_CONFIG: 'shell' };
    const r = h.fleet(['start', config], { env: shell });
    assert.equal(r.code, 0, r.stderr);
    const plain = await latestEnv(h, 'shellenv', 1);
    assert.equal(plain.env.FROM_CONFIG, 'config');
    assert.equal(plain.env.SHELL_ONLY, undefined, 'the shell running `fleet start` must not leak into the app');

    const u = h.fleet(['start', config, '--update-env'], { env: shell });
    assert.equal(u.code, 0, u.stderr);
    const updated = await latestEnv(h, 'shellenv', 2);
    assert.equal(updated.env.SHELL_ONLY, 'from-shell');
    assert.equal(updated.env.FROM_CONFIG, 'config');
    assert.equal(h.fleet(['delete', 'shellenv']).code, 0);
  });

  test('JSON with comments, unquoted keys and trailing commas starts', async () => {
    const file = write(
      path.join(h.home, 'json', 'ecosystem.json'),
      `{
  // written by hand, as PM2 allows
  apps: [
    {
      name: "jsonapp",
      script: ${JSON.stringify(ENV_APP)},
      args: ["--mode", "json"], /* trailing comma next */
      env: { FROM: "json", },
    },
  ],
}
`,
    );
    const r = h.fleet(['start', file]);
    assert.equal(r.code, 0, r.stderr);
    const seen = await latestEnv(h, 'jsonapp');
    assert.equal(seen.env.FROM, 'json');
    assert.deepEqual(seen.argv, ['--mode', 'json']);
    assert.equal(h.rows('jsonapp')[0]?.status, 'online');
    assert.equal(h.fleet(['delete', 'jsonapp']).code, 0);
  });

  test('a YAML ecosystem file starts', async () => {
    const file = write(
      path.join(h.home, 'yaml', 'process.yml'),
      `apps:
  - name: yamlapp
    script: ${ENV_APP}
    args: "--mode yaml"
    max_restarts: "4"
    env:
      FROM: yaml
      COUNT: 3
`,
    );
    const r = h.fleet(['start', file]);
    assert.equal(r.code, 0, r.stderr);
    const seen = await latestEnv(h, 'yamlapp');
    assert.equal(seen.env.FROM, 'yaml');
    assert.equal(seen.env.COUNT, '3');
    assert.deepEqual(seen.argv, ['--mode', 'yaml']);
    assert.equal(h.rows('yamlapp')[0]?.status, 'online');
    assert.equal(h.fleet(['delete', 'yamlapp']).code, 0);
  });

  test('an unknown key warns with file, key and the closest valid key; --strict refuses the file', async () => {
    const running = h.fleet(['start', ENV_APP, '--name', 'bystander']);
    assert.equal(running.code, 0, running.stderr);
    const bystander = h.rows('bystander')[0]!.pid;
    const file = write(
      path.join(h.home, 'typo', 'ecosystem.config.js'),
      `module.exports = { apps: [{ name: 'typo', script: ${JSON.stringify(ENV_APP)}, max_memory_restrat: '300M' }] };\n`,
    );

    const strict = h.fleet(['start', file, '--strict']);
    assert.equal(strict.code, 1, strict.stderr);
    assert.match(strict.stderr, /ecosystem\.config\.js/);
    assert.match(strict.stderr, /max_memory_restrat/);
    assert.match(strict.stderr, /max_memory_restart/);
    assert.deepEqual(h.rows('typo'), [], '--strict starts nothing');

    const r = h.fleet(['start', file]);
    assert.equal(r.code, 0, r.stderr);
    const warning = r.stderr.split('\n').find((l) => l.includes('max_memory_restrat'));
    assert.ok(warning, `a warning names the key: ${r.stderr}`);
    assert.ok(warning.includes(file), `the warning names the file: ${warning}`);
    assert.match(warning, /did you mean "max_memory_restart"/);
    assert.equal(h.rows('typo')[0]?.status, 'online', 'a warning does not stop the start');
    assert.equal(h.rows('bystander')[0]!.pid, bystander);
    assert.equal(h.fleet(['delete', 'typo']).code, 0);
    assert.equal(h.fleet(['delete', 'bystander']).code, 0);
  });

  test('npm with args "start" runs the package start script, and stop ends the whole npm tree', async () => {
    const port = await freePort();
    const project = path.join(h.home, 'npmapp');
    write(path.join(project, 'server.js'), `require(${JSON.stringify(ENV_APP)});\n`);
    // The absolute path keeps the app findable by the harness cleanup (pgrep -f <home>).
    write(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'npmapp', version: '1.0.0', private: true, scripts: { start: `node ${path.join(project, 'server.js')}` } }),
    );
    const config = write(
      path.join(project, 'ecosystem.config.js'),
      `module.exports = { apps: [{ name: 'npmapp', script: 'npm', args: 'start', env: { PORT: '${port}', FROM: 'npm' } }] };\n`,
    );
    const r = h.fleet(['start', config]);
    assert.equal(r.code, 0, r.stderr);
    const res = await waitFor(() => httpGet(port), { message: 'the npm-started app to serve' });
    const seen = JSON.parse(res.body) as Seen;
    assert.equal(seen.env.FROM, 'npm');
    assert.equal(seen.env.npm_lifecycle_event, 'start', 'it was started through npm');
    const s = h.fleet(['stop', 'npmapp']);
    assert.equal(s.code, 0, s.stderr);
    await waitFor(() => httpGet(port).then(() => false, () => true), { timeoutMs: 5000, message: 'the server under npm to be gone' });
    assert.equal(h.fleet(['delete', 'npmapp']).code, 0);
  });
});

describe('fleet config check', () => {
  const h = new FleetHome();
  after(() => h.cleanup());

  test('prints the compiled apps with defaults and the chosen env, and starts nothing', () => {
    const file = write(
      path.join(h.home, 'ecosystem.config.js'),
      `module.exports = { apps: [{ name: 'checked', script: ${JSON.stringify(ENV_APP)}, env: { NODE_ENV: 'development' }, env_production: { NODE_ENV: 'production' } }] };\n`,
    );
    const r = h.fleet(['config', 'check', file, '--env', 'production']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /checked/);
    assert.match(r.stdout, /NODE_ENV=production/);
    assert.match(r.stdout, /SIGKILL after 1600ms/, 'defaults are applied and shown');
    assert.match(r.stdout, /1 app/);

    const j = h.fleet(['config', 'check', file, '--json']);
    assert.equal(j.code, 0, j.stderr);
    const [spec] = j.json<{ name: string; env: Record<string, string>; killTimeoutMs: number; restart: { maxRestarts: number } }[]>();
    assert.equal(spec!.name, 'checked');
    assert.deepEqual(spec!.env, { NODE_ENV: 'development' }, 'without --env: the plain env section');
    assert.equal(spec!.killTimeoutMs, 1600);
    assert.equal(spec!.restart.maxRestarts, 16);

    assert.notEqual(h.fleet(['ping']).code, 0, 'config check must not start the daemon');
    assert.ok(!fs.existsSync(path.join(h.home, 'daemon.pid')));
    assert.ok(!fs.existsSync(path.join(h.home, 'logs', 'checked-out.log')));
  });
});

describe('env of the shell that started the daemon', () => {
  const h = new FleetHome();
  after(() => h.cleanup());

  // The first `fleet start` on a machine spawns the daemon with that shell's
  // env; only a short list of system variables (PATH, HOME, LANG…) may pass
  // from it to apps.
  test(
    'does not reach apps either',
    async () => {
      const config = write(
        path.join(h.home, 'ecosystem.config.js'),
        `module.exports = { apps: [{ name: 'first', script: ${JSON.stringify(ENV_APP)}, env: { FROM_CONFIG: 'config' } }] };\n`,
      );
      const r = h.fleet(['start', config], { env: { FIRST_SHELL_SECRET: 'leaked' } }); // spawns the daemon
      assert.equal(r.code, 0, r.stderr);
      const seen = await latestEnv(h, 'first');
      assert.equal(seen.env.FROM_CONFIG, 'config');
      assert.equal(seen.env.FIRST_SHELL_SECRET, undefined);
      assert.ok(isAlive(h.daemonPid()!));
    },
  );
});
