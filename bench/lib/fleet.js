'use strict';
// Fleet through its real CLI (packages/cli/bin/fleet.js), in a throwaway
// FLEET_HOME: the daemon starts on first use, `fleet kill` ends it.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { run, isAborting, listProcs, kill, onCleanup, sleep, isAlive } = require('./proc');
const { ROOT, baseEnv } = require('./apps');

const FLEET_BIN = path.join(ROOT, 'packages', 'cli', 'bin', 'fleet.js');

class Fleet {
  constructor() {
    this.name = 'Fleet';
    this.home = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-bench-home-'));
    this.env = baseEnv({ FLEET_HOME: this.home });
    this.dispose = onCleanup(() => this.shutdown());
  }

  /** Runs `fleet <args>`; resolves {code, stdout, stderr, ms}. */
  cli(args, opts = {}) {
    // Once Ctrl-C started the cleanup, only `kill` may run (`fleet ls` would start a new daemon).
    if (isAborting() && args[0] !== 'kill') return Promise.reject(new Error('interrupted'));
    return run(process.execPath, [FLEET_BIN, ...args], { env: this.env, cwd: opts.cwd || ROOT, timeoutMs: opts.timeoutMs });
  }

  async must(args, opts) {
    const r = await this.cli(args, opts);
    if (r.code !== 0) {
      throw new Error(`fleet ${args.join(' ')} exited ${r.code}:\n${(r.stderr || r.stdout).trim()}`);
    }
    return r;
  }

  /** fleet start <ecosystem file> [flags]. */
  async start(file, flags = []) {
    return this.must(['start', file, ...flags], { timeoutMs: 300_000 });
  }

  async ls() {
    const r = await this.must(['ls', '--json']);
    return JSON.parse(r.stdout);
  }

  /** The daemon's pid, from `fleet ping --json` (which never starts one). */
  async daemonPid() {
    const r = await this.cli(['ping', '--json']);
    return r.code === 0 ? JSON.parse(r.stdout).pid : undefined;
  }

  /** Runner processes of this home (runner-main.js with a boot file under it). */
  runnerPids(procs = listProcs()) {
    return procs.filter((p) => p.cmd.includes('runner-main.js') && p.cmd.includes(this.home)).map((p) => p.pid);
  }

  /** The runner of one app (its boot file is run/<app>.boot.json). */
  runnerPidOf(app, procs = listProcs()) {
    const p = procs.find((x) => x.cmd.includes('runner-main.js') && x.cmd.includes(path.join(this.home, 'run', `${app}.boot.json`)));
    return p && p.pid;
  }

  async reload(name) {
    return this.cli(['reload', name], { timeoutMs: 120_000 });
  }

  async shutdown() {
    const r = await this.cli(['kill'], { timeoutMs: 60_000 }).catch((err) => ({ code: -1, stderr: err.message }));
    if (r.code !== 0 && !/no daemon/i.test(r.stderr)) {
      process.stderr.write(`[bench] fleet kill exited ${r.code}: ${(r.stderr || '').trim()}\n`);
    }
    // Nothing started under this home may outlive the bench.
    const procs = listProcs();
    const left = procs.filter((p) => p.cmd.includes(this.home) && p.pid !== process.pid);
    for (const p of left) {
      process.stderr.write(`[bench] fleet kill left ${p.pid} (${p.cmd.slice(0, 80)}): SIGKILL\n`);
      kill(p.pid);
    }
    await sleep(50);
    fs.rmSync(this.home, { recursive: true, force: true });
  }

  /** fleet kill, and forget the cleanup hook. */
  async close() {
    await this.dispose();
  }
}

module.exports = { Fleet, FLEET_BIN, isAlive };
