'use strict';
// End-to-end log latency through a fleet: a real `fleet controller`, one real
// `fleet agent --controller … --name h1` (its own FLEET_HOME), one real app
// started through the controller (`fleet start <file> --hosts h1`:
// apps/log-clock.js, 10 000 lines/s of "<Date.now()> <seq>"), and
// `fleet logs log-clock -f --lines 0 --json` on a "laptop" read by this
// process. Latency = receive time here − the stamp inside the line, over
// ~20 s (--quick: 10 s) after a 3 s warm-up; also lines/s received, and every
// seq between the first received and the last the app wrote (read back from
// its log file on the host) checked: missing and duplicates.
// Reported figures, no floor.
//
// Knobs (env): BENCH_LOG_RATE (10000 lines/s), BENCH_CPU_PROF=<dir> (the
// controller runs with --cpu-prof into <dir>).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { Controller, Laptop, profilingArgs } = require('./lib/fake-agent');
const { RealAgent } = require('./lib/real-agent');
const { FLEET_BIN } = require('./lib/fleet');
const { ROOT, appSpec, writeEcosystem, scratch, baseEnv } = require('./lib/apps');
const { cpuMs, run, sleep, waitFor, onCleanup, kill, listProcs } = require('./lib/proc');
const { num } = require('./lib/stats');

const FLOOR = { text: '— (reported)', ratio: '—', pass: null };
const APP = 'log-clock';
const APP_SCRIPT = path.join(__dirname, 'apps', 'log-clock.js');
const WARMUP_MS = 3000;

function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

/** Reads `fleet logs -f --json` output: per line its seq, app stamp, agent stamp and receive time. */
class LogReader {
  constructor(laptop, args) {
    this.child = laptop.spawn(args);
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
    const text = this.buf + chunk;
    const lines = text.split('\n');
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
      const code = await Promise.race([this.exited, sleep(5000).then(() => undefined)]);
      if (code === undefined) {
        kill(this.child.pid);
        await this.exited;
      }
    }
  }

  close() {
    return this.dispose();
  }
}

module.exports = {
  title: 'end-to-end log latency: app → agent → controller → `fleet logs -f` at 10 000 lines/s',
  floorText: FLOOR.text,
  async run(ctx) {
    const rate = Number(process.env.BENCH_LOG_RATE) || 10_000;
    const measureMs = ctx.quick ? 10_000 : 20_000;
    const controller = await new Controller({ heartbeat: '5s', nodeArgs: profilingArgs(ctx.log) }).start();
    let agent;
    let laptop;
    let reader;
    try {
      laptop = await new Laptop(controller).init();
      agent = new RealAgent(controller, 'h1').start();
      await waitFor(
        async () => {
          if (!agent.alive) throw new Error(`fleet agent exited:\n${agent.output.trim()}`);
          const r = await laptop.cli(['hosts', '--json']);
          return r.code === 0 && JSON.parse(r.stdout).some((h) => h.name === 'h1' && h.status === 'ready');
        },
        { timeoutMs: 30_000, intervalMs: 200, message: 'host h1 to be ready' },
      );
      ctx.log(`controller pid ${controller.pid}, agent h1 pid ${agent.pid} ready`);

      const dir = scratch('log-latency');
      const outFile = path.join(dir, `${APP}-out.log`);
      const eco = writeEcosystem(dir, 'log-latency.config.js', [
        appSpec({ name: APP, script: APP_SCRIPT, env: { RATE: String(rate) }, out_file: outFile, error_file: path.join(dir, `${APP}-err.log`) }),
      ]);
      // Start, then follow (`fleet logs` refuses an app no host runs): lines are counted from the first one seen.
      const started = await laptop.must(['start', eco, '--hosts', 'h1'], { timeoutMs: 120_000 });
      ctx.log(`fleet start ${APP} --hosts h1: ${num(started.ms)} ms; app prints ${num(rate)} lines/s`);
      reader = new LogReader(laptop, ['logs', APP, '-f', '--lines', '0', '--json']);
      await sleep(500);
      if (reader.child.exitCode !== null) throw new Error(`fleet logs -f exited ${reader.child.exitCode}: ${reader.stderr.trim()}`);
      await waitFor(() => reader.seq.length > 0, { timeoutMs: 15_000, message: 'the first line through fleet logs -f' });

      await sleep(WARMUP_MS);
      const cpu0 = { controller: cpuMs(controller.pid), agent: cpuMs(agent.pid) };
      const from = reader.seq.length;
      const tFrom = Date.now();
      await sleep(measureMs);
      const to = reader.seq.length;
      const tTo = Date.now();
      const cpu1 = { controller: cpuMs(controller.pid), agent: cpuMs(agent.pid) };
      const wallMs = tTo - tFrom;

      // Stop the app (through the controller), let the last lines arrive, then stop reading.
      const del = await laptop.cli(['delete', APP], { timeoutMs: 60_000 });
      if (del.code !== 0) ctx.note(`log-latency: fleet delete ${APP} exited ${del.code}: ${del.stderr.trim()}`);
      const settledAt = reader.seq.length;
      await sleep(2000);
      const tail = reader.seq.length - settledAt;
      await reader.close();

      // ---- figures over the window
      const lat = [];
      const appToAgent = [];
      const agentToCli = [];
      for (let i = from; i < to; i++) {
        lat.push(reader.recvMs[i] - reader.appMs[i]);
        appToAgent.push(reader.agentMs[i] - reader.appMs[i]);
        agentToCli.push(reader.recvMs[i] - reader.agentMs[i]);
      }
      const sortNum = (xs) => xs.sort((a, b) => a - b);
      sortNum(lat);
      sortNum(appToAgent);
      sortNum(agentToCli);
      const linesPerSec = ((to - from) / wallMs) * 1000;

      // ---- every seq from the first received to the last the app wrote
      const written = fs.readFileSync(outFile, 'utf8').trimEnd().split('\n');
      const lastWritten = Number(/ (\d+)$/.exec(written[written.length - 1])?.[1]);
      const firstSeen = reader.seq[0];
      const seen = new Uint8Array(Math.max(lastWritten, ...reader.seq.slice(-1)) + 1);
      let dup = 0;
      let outOfOrder = 0;
      for (let i = 0; i < reader.seq.length; i++) {
        const s = reader.seq[i];
        if (seen[s]) dup++;
        seen[s] = 1;
        if (i > 0 && s < reader.seq[i - 1]) outOfOrder++;
      }
      let missing = 0;
      for (let s = firstSeen; s <= lastWritten; s++) if (!seen[s]) missing++;
      const expected = lastWritten - firstSeen + 1;

      const p = (xs, q) => quantile(xs, q);
      ctx.log(
        `window ${num(wallMs / 1000)} s: ${to - from} lines = ${num(linesPerSec)} lines/s received; latency p50 ${num(p(lat, 0.5))} ms, p99 ${num(p(lat, 0.99))} ms, max ${num(lat[lat.length - 1])} ms`,
      );
      ctx.log(
        `  split: app → agent read (its stamp) p50 ${num(p(appToAgent, 0.5))} / p99 ${num(p(appToAgent, 0.99))} ms; agent read → CLI p50 ${num(p(agentToCli, 0.5))} / p99 ${num(p(agentToCli, 0.99))} ms`,
      );
      ctx.log(
        `seq check: first received ${firstSeen}, last written ${lastWritten} (${written.length} lines in the file); ${expected} expected, ${reader.seq.length} received, ` +
          `missing ${missing}, duplicates ${dup}, out of order ${outOfOrder}; ${tail} lines arrived in the 2 s after delete`,
      );
      ctx.log(
        `CPU over the window: controller ${num(((cpu1.controller - cpu0.controller) / wallMs) * 100)}% of a core, agent ${num(((cpu1.agent - cpu0.agent) / wallMs) * 100)}% (runner and the fleet logs CLI not counted)`,
      );
      if (reader.notices.length) ctx.log(`other lines: ${reader.notices.join(' | ')}`);
      if (reader.bad) ctx.note(`log-latency: ${reader.bad} lines of fleet logs --json were not JSON`);
      ctx.note(
        `log-latency: app → agent p50 ${num(p(appToAgent, 0.5))} ms, agent → CLI p50 ${num(p(agentToCli, 0.5))} ms; ` +
          `controller ${num(((cpu1.controller - cpu0.controller) / wallMs) * 100)}% / agent ${num(((cpu1.agent - cpu0.agent) / wallMs) * 100)}% of a core at ${num(rate)} lines/s`,
      );
      const label = `${num(rate)} lines/s`;
      return [
        { name: `log latency p50, ${label}`, rows: [{ system: 'Fleet', value: p(lat, 0.5), unit: 'ms' }], floor: FLOOR },
        { name: `log latency p99, ${label}`, rows: [{ system: 'Fleet', value: p(lat, 0.99), unit: 'ms' }], floor: FLOOR },
        { name: `log latency max, ${label}`, rows: [{ system: 'Fleet', value: lat[lat.length - 1], unit: 'ms' }], floor: FLOOR },
        { name: `log lines/s received through \`fleet logs -f\``, rows: [{ system: 'Fleet', value: linesPerSec, unit: 'lines/s' }], floor: FLOOR },
        {
          name: `log lines missing / duplicated (of ${expected})`,
          rows: [{ system: 'Fleet', value: `${missing} / ${dup}` }],
          floor: FLOOR,
        },
      ];
    } finally {
      if (reader) await reader.close();
      if (agent) await agent.shutdown();
      if (laptop) await laptop.close();
      await controller.close();
    }
  },
};
