'use strict';
// A real `fleet agent --controller …` in the foreground, with its own
// FLEET_HOME, for benches that drive a fleet on one machine. `shutdown()` runs
// `fleet kill` on that home (the agent stops its apps, then itself) and leaves
// nothing behind; it is one promise, so a Ctrl-C cleanup waits for a shutdown
// the bench already started instead of exiting under it.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { FLEET_BIN } = require('./fleet');
const { ROOT, baseEnv } = require('./apps');
const { run, sleep, onCleanup, kill, listProcs, spawnKept } = require('./proc');

class RealAgent {
  /** `args`: more `fleet agent` flags, e.g. ['--env', 'PORT=3001']. */
  constructor(controller, name, args = []) {
    this.name = name;
    this.args = args;
    this.home = fs.mkdtempSync(path.join(os.tmpdir(), `fleet-bench-${name}-`));
    this.env = baseEnv({ FLEET_HOME: this.home });
    this.controller = controller;
    onCleanup(() => this.shutdown());
  }

  start() {
    const args = [FLEET_BIN, 'agent', '--controller', this.controller.address, '--insecure', '--name', this.name, '--token-file', this.controller.tokens.agent, ...this.args];
    this.proc = spawnKept(args, { cwd: ROOT, env: this.env });
    this.child = this.proc.child;
    this.pid = this.proc.pid;
    this.exited = this.proc.exited;
    return this;
  }

  get output() {
    return this.proc ? this.proc.output() : '';
  }

  get alive() {
    return Boolean(this.proc && this.proc.alive());
  }

  shutdown() {
    if (!this.stopping) this.stopping = this.stop();
    return this.stopping;
  }

  async stop() {
    const r = await run(process.execPath, [FLEET_BIN, 'kill'], { env: this.env, cwd: ROOT, timeoutMs: 60_000 }).catch((err) => ({ code: -1, stderr: err.message }));
    if (r.code !== 0 && !/no daemon/i.test(r.stderr || '')) process.stderr.write(`[bench] fleet kill (host ${this.name}) exited ${r.code}: ${(r.stderr || '').trim()}\n`);
    if (this.alive) {
      const done = await Promise.race([this.exited, sleep(10_000).then(() => undefined)]);
      if (!done) {
        process.stderr.write(`[bench] agent ${this.name} (${this.pid}) still up 10 s after fleet kill: SIGKILL\n`);
        kill(this.pid);
        await this.exited;
      }
    }
    // Nothing started under this home may outlive the bench (a Ctrl-C reaches the agent too).
    for (const p of listProcs().filter((x) => x.cmd.includes(this.home) && x.pid !== process.pid)) {
      process.stderr.write(`[bench] host ${this.name} left ${p.pid} (${p.cmd.slice(0, 80)}): SIGKILL\n`);
      kill(p.pid);
    }
    fs.rmSync(this.home, { recursive: true, force: true });
  }
}

module.exports = { RealAgent };
