'use strict';
// What the log benches (log-latency.js, nats-logs.js) share around the app
// apps/log-clock.js, which prints "<Date.now()> <seq>": the app's spec, a
// reader of `fleet logs -f --json`, the check of every seq against the app's
// own file, and the wait for the host that runs it.
const fs = require('node:fs');
const path = require('node:path');
const { appSpec, writeEcosystem, scratch } = require('./apps');
const { sleep, waitFor, onCleanup, kill } = require('./proc');

const APP = 'log-clock';
const APP_SCRIPT = path.join(__dirname, '..', 'apps', 'log-clock.js');

/** An ecosystem file for log-clock at `rate` lines/s, its out file in a scratch folder named `name`. */
function logClockConfig(name, rate) {
  const dir = scratch(name);
  const outFile = path.join(dir, `${APP}-out.log`);
  const file = writeEcosystem(dir, `${name}.config.js`, [
    appSpec({ name: APP, script: APP_SCRIPT, env: { RATE: String(rate) }, out_file: outFile, error_file: path.join(dir, `${APP}-err.log`) }),
  ]);
  return { file, outFile };
}

/** Waits until the controller reports `name` ready, failing at once if the agent exits. */
async function waitHostReady(laptop, agent, name = 'h1') {
  await waitFor(
    async () => {
      if (!agent.alive) throw new Error(`fleet agent exited:\n${agent.output.trim()}`);
      const r = await laptop.cli(['hosts', '--json']);
      return r.code === 0 && JSON.parse(r.stdout).some((h) => h.name === name && h.status === 'ready');
    },
    { timeoutMs: 30_000, intervalMs: 200, message: `host ${name} to be ready` },
  );
}

/** Reads `fleet logs log-clock -f --lines 0 --json`: per line its seq, app stamp, agent stamp and receive time. */
class LogReader {
  constructor(laptop) {
    this.child = laptop.spawn(['logs', APP, '-f', '--lines', '0', '--json']);
    this.stderr = '';
    this.bad = 0;
    this.notices = [];
    this.buf = '';
    // Parallel arrays: cheap at 10k lines/s.
    this.seq = [];
    this.appMs = [];
    this.agentMs = [];
    this.recvMs = [];
    this.child.stderr.setEncoding('utf8').on('data', (d) => (this.stderr += d));
    this.child.stdout.setEncoding('utf8').on('data', (chunk) => this.onData(chunk));
    this.exited = new Promise((resolve) => this.child.once('close', (code) => resolve(code)));
    this.dispose = onCleanup(() => this.stop());
  }

  onData(chunk) {
    const now = Date.now();
    const lines = (this.buf + chunk).split('\n');
    this.buf = lines.pop();
    for (const l of lines) {
      if (!l) continue;
      let o;
      try {
        o = JSON.parse(l);
      } catch {
        this.bad++;
        continue;
      }
      const m = /^(\d+) (\d+)$/.exec(o.line);
      if (!m || o.app !== APP) {
        // A drop notice ("[fleet] N log lines were dropped …") or a stray line: keep a few.
        if (this.notices.length < 5) this.notices.push(o.line);
        continue;
      }
      this.seq.push(Number(m[2]));
      this.appMs.push(Number(m[1]));
      this.agentMs.push(Number(o.timeMs));
      this.recvMs.push(now);
    }
  }

  async stop() {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGINT');
      if ((await Promise.race([this.exited, sleep(5000).then(() => 'late')])) === 'late') {
        kill(this.child.pid);
        await this.exited;
      }
    }
  }

  close() {
    return this.dispose();
  }
}

/** Every seq from the first received to the last the app wrote (read back from its file): missing, duplicated, out of order. */
function checkSeq(seq, outFile) {
  const written = fs.readFileSync(outFile, 'utf8').trimEnd().split('\n');
  const lastWritten = Number(/ (\d+)$/.exec(written[written.length - 1])?.[1]);
  const firstSeen = seq[0];
  const seen = new Uint8Array(Math.max(lastWritten, ...seq.slice(-1)) + 1);
  let dup = 0;
  let outOfOrder = 0;
  for (let i = 0; i < seq.length; i++) {
    const s = seq[i];
    if (seen[s]) dup++;
    seen[s] = 1;
    if (i > 0 && s < seq[i - 1]) outOfOrder++;
  }
  let missing = 0;
  for (let s = firstSeen; s <= lastWritten; s++) if (!seen[s]) missing++;
  return { firstSeen, lastWritten, writtenLines: written.length, expected: lastWritten - firstSeen + 1, missing, dup, outOfOrder };
}

module.exports = { APP, logClockConfig, waitHostReady, LogReader, checkSeq };
