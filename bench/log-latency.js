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
const { Controller, Laptop, profilingArgs } = require('./lib/fake-agent');
const { RealAgent } = require('./lib/real-agent');
const { APP, logClockConfig, waitHostReady, LogReader, checkSeq } = require('./lib/log-clock');
const { cpuMs, sleep, waitFor } = require('./lib/proc');
const { num, quantile } = require('./lib/stats');

const FLOOR = { text: '— (reported)', ratio: '—', pass: null };
const WARMUP_MS = 3000;

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
      await waitHostReady(laptop, agent);
      ctx.log(`controller pid ${controller.pid}, agent h1 pid ${agent.pid} ready`);

      const { file: eco, outFile } = logClockConfig('log-latency', rate);
      // Start, then follow (`fleet logs` refuses an app no host runs): lines are counted from the first one seen.
      const started = await laptop.must(['start', eco, '--hosts', 'h1'], { timeoutMs: 120_000 });
      ctx.log(`fleet start ${APP} --hosts h1: ${num(started.ms)} ms; app prints ${num(rate)} lines/s`);
      reader = new LogReader(laptop);
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
      const { firstSeen, lastWritten, writtenLines, expected, missing, dup, outOfOrder } = checkSeq(reader.seq, outFile);

      const p = (xs, q) => quantile(xs, q);
      ctx.log(
        `window ${num(wallMs / 1000)} s: ${to - from} lines = ${num(linesPerSec)} lines/s received; latency p50 ${num(p(lat, 0.5))} ms, p99 ${num(p(lat, 0.99))} ms, max ${num(lat[lat.length - 1])} ms`,
      );
      ctx.log(
        `  split: app → agent read (its stamp) p50 ${num(p(appToAgent, 0.5))} / p99 ${num(p(appToAgent, 0.99))} ms; agent read → CLI p50 ${num(p(agentToCli, 0.5))} / p99 ${num(p(agentToCli, 0.99))} ms`,
      );
      ctx.log(
        `seq check: first received ${firstSeen}, last written ${lastWritten} (${writtenLines} lines in the file); ${expected} expected, ${reader.seq.length} received, ` +
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
