'use strict';
// PM2 installed into bench/.pm2-bench on first use (npm install --prefix),
// with PM2_HOME inside that folder too, so it never touches ~/.pm2.
// Always `pm2 kill` at the end.
const fs = require('node:fs');
const path = require('node:path');
const { run, isAborting, listProcs, descendants, kill, onCleanup, sleep } = require('./proc');
const { ensurePackage, packageVersion, PREFIX } = require('./npm');
const { ROOT, baseEnv } = require('./apps');

const PM2_HOME = path.join(PREFIX, 'home');

class Pm2 {
  constructor() {
    this.name = 'PM2';
    this.bin = path.join(ensurePackage('pm2'), 'bin', 'pm2');
    this.home = PM2_HOME;
    fs.mkdirSync(this.home, { recursive: true });
    this.env = baseEnv({ PM2_HOME: this.home, FORCE_COLOR: '0' });
    this.dispose = onCleanup(() => this.shutdown());
  }

  static version() {
    return packageVersion('pm2');
  }

  cli(args, opts = {}) {
    // Once Ctrl-C started the cleanup, only `kill` may run (`pm2 ls` would start a new daemon).
    if (isAborting() && args[0] !== 'kill') return Promise.reject(new Error('interrupted'));
    return run(process.execPath, [this.bin, ...args], { env: this.env, cwd: opts.cwd || ROOT, timeoutMs: opts.timeoutMs });
  }

  async must(args, opts) {
    const r = await this.cli(args, opts);
    if (r.code !== 0) throw new Error(`pm2 ${args.join(' ')} exited ${r.code}:\n${(r.stderr || r.stdout).trim()}`);
    return r;
  }

  /** A fresh daemon: kill whatever a previous (crashed) bench left in this PM2_HOME. */
  async fresh() {
    await this.cli(['kill'], { timeoutMs: 60_000 });
    return this;
  }

  async start(file, flags = []) {
    return this.must(['start', file, ...flags], { timeoutMs: 300_000 });
  }

  async jlist() {
    const r = await this.must(['jlist']);
    return JSON.parse(r.stdout);
  }

  /** The God daemon's pid ("PM2 vX: God Daemon (…)"). */
  daemonPid() {
    try {
      const pid = Number(fs.readFileSync(path.join(this.home, 'pm2.pid'), 'utf8'));
      return pid || undefined;
    } catch {
      return undefined;
    }
  }

  async reload(name) {
    return this.cli(['reload', name], { timeoutMs: 120_000 });
  }

  async shutdown() {
    const god = this.daemonPid();
    const before = god ? descendants(god) : [];
    const r = await this.cli(['kill'], { timeoutMs: 60_000 }).catch((err) => ({ code: -1, stderr: err.message }));
    if (r.code !== 0) process.stderr.write(`[bench] pm2 kill exited ${r.code}: ${(r.stderr || '').trim()}\n`);
    await sleep(50);
    const alive = new Set(listProcs().map((p) => p.pid));
    for (const p of before) if (alive.has(p.pid)) kill(p.pid);
    if (god && alive.has(god)) kill(god);
  }

  async close() {
    await this.dispose();
  }
}

module.exports = { Pm2, PM2_HOME };
