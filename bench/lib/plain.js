'use strict';
// The baselines without a supervisor: a plain node:cluster primary
// (bench/apps/plain-cluster.js) and an app run as `node app.js`.
const { spawn } = require('node:child_process');
const path = require('node:path');
const { descendants, kill, onCleanup, sleep, isAlive } = require('./proc');
const { FIXTURE_APP, plainEnv } = require('./apps');

const PRIMARY = path.join(__dirname, '..', 'apps', 'plain-cluster.js');

class PlainProcess {
  constructor(args, env) {
    // detached: a session of its own, as a service manager would start it.
    this.child = spawn(process.execPath, args, { env, stdio: 'ignore', detached: true });
    this.pid = this.child.pid;
    this.exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.dispose = onCleanup(() => this.shutdown());
  }

  async shutdown() {
    const tree = descendants(this.pid);
    if (isAlive(this.pid)) {
      kill(this.pid, 'SIGTERM');
      await Promise.race([this.exited, sleep(2000)]);
    }
    kill(this.pid);
    for (const p of tree) kill(p.pid);
  }

  async close() {
    await this.dispose();
  }
}

/** A node:cluster primary with `workers` workers of the app, re-forked on exit. */
function plainCluster({ workers = 2, env = {}, app = FIXTURE_APP, setsidWorkers = false }) {
  const extra = setsidWorkers ? { SETSID_WORKERS: '1' } : {};
  return new PlainProcess([PRIMARY], plainEnv({ ...env, ...extra, WORKERS: String(workers), APP: app }));
}

/** `node app.js`, nothing around it. */
function plainApp({ env = {}, app = FIXTURE_APP }) {
  return new PlainProcess([app], plainEnv(env));
}

/** A Node process that loads nothing and waits: the least any Node process costs. */
function idleNode() {
  return new PlainProcess(['-e', 'setInterval(() => {}, 1 << 30)'], plainEnv({}));
}

module.exports = { plainCluster, plainApp, idleNode };
