'use strict';
// A real `fleet controller` with 200 simulated agents × 20 processes each
// (lib/fake-agent.js: the real link protocol, one HTTP/2 connection per agent,
// all in this process): time for all to register (all dialling at once, as
// after a controller restart), the controller's CPU (utime + stime from
// /proc/<pid>/stat) over a 30 s steady window (--quick: 10 s) once every host
// registered and sent its snapshot, its RSS and private memory
// (smaps_rollup), and the wall time of `fleet ls --json` and `fleet hosts`
// through the real CLI with a context pointing at it (median of 5).
// Reported figures, no floor (PM2 has no controller).
//
// Knobs (env): BENCH_AGENTS (200), BENCH_PROCS (20 per agent),
// BENCH_FAKE_LOG_RATE (log lines/s per agent, default 0),
// BENCH_CPU_PROF=<dir>: the controller runs with --cpu-prof into <dir>.
const fs = require('node:fs');
const path = require('node:path');
const { Controller, Laptop, startFakeAgents, appShapes, profilingArgs } = require('./lib/fake-agent');
const { cpuMs, privateBytes, sleep } = require('./lib/proc');
const { median, list, num, mb } = require('./lib/stats');

const FLOOR = { text: '— (reported)', ratio: '—', pass: null };

function envInt(name, dflt) {
  const v = Number(process.env[name]);
  return Number.isFinite(v) && v >= 0 && process.env[name] !== '' && process.env[name] !== undefined ? Math.floor(v) : dflt;
}

/** {rss, private, hwm} in bytes, from smaps_rollup and status. */
function memoryOf(pid) {
  let rss;
  let hwm;
  try {
    const m = /^Rss:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    rss = m ? Number(m[1]) * 1024 : undefined;
    const h = /^VmHWM:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    hwm = h ? Number(h[1]) * 1024 : undefined;
  } catch {
    // gone
  }
  return { rss, private: privateBytes(pid), hwm };
}

/** Established TCP connections to a loopback port (each fake agent should hold its own). */
function connectionsTo(port) {
  const hex = port.toString(16).toUpperCase().padStart(4, '0');
  let n = 0;
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = fs.readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length > 3 && f[1].endsWith(`:${hex}`) && f[3] === '01') n++;
    }
  }
  return n;
}

function memText(m) {
  return `RSS ${num(mb(m.rss))} MB, private ${num(mb(m.private))} MB, peak RSS ${num(mb(m.hwm))} MB`;
}

/** Median wall time of `fleet <args>` over `runs` (one unmeasured run first), and the last output. */
async function timeCli(laptop, args, runs) {
  await laptop.must(args);
  const times = [];
  let last;
  for (let i = 0; i < runs; i++) {
    last = await laptop.must(args);
    times.push(last.ms);
  }
  return { times, median: median(times), stdout: last.stdout };
}

module.exports = {
  title: 'controller with 200 simulated agents × 20 processes: CPU, memory, register time, ls/hosts wall time',
  floorText: FLOOR.text,
  async run(ctx) {
    const agents = envInt('BENCH_AGENTS', 200);
    const procs = envInt('BENCH_PROCS', 20);
    const logRate = envInt('BENCH_FAKE_LOG_RATE', 0);
    const windowMs = ctx.quick ? 10_000 : 30_000;
    const subWindows = 3;
    const runs = 5;
    const appsPerAgent = appShapes(procs).length;

    const controller = await new Controller({ heartbeat: '5s', nodeArgs: profilingArgs(ctx.log) }).start();
    const { pid } = controller;
    let fleet;
    let laptop;
    try {
      await sleep(1000);
      const idleMem = memoryOf(pid);
      ctx.log(`controller pid ${pid} on ${controller.address}, no agents: ${memText(idleMem)}`);

      // ---- all agents dial at once
      const cpuBeforeRegister = cpuMs(pid);
      fleet = await startFakeAgents({ address: controller.address, token: controller.agentToken, count: agents, processes: procs, logRate });
      const { stats } = fleet;
      const registerCpu = cpuMs(pid) - cpuBeforeRegister;
      const conns = connectionsTo(controller.port);
      if (conns < agents) ctx.note(`controller-scale: only ${conns} TCP connections for ${agents} fake agents`);
      ctx.log(
        `${agents} agents × ${procs} processes (${appsPerAgent} apps each${logRate ? `, ${logRate} log lines/s each` : ''}) registered in ${num(fleet.registerAllMs)} ms ` +
          `(per agent: median ${num(median(stats.registerMs))} ms, max ${num(Math.max(...stats.registerMs))} ms; controller CPU meanwhile ${num(registerCpu)} ms; ${conns} TCP connections to it)`,
      );

      // ---- steady state: past the snapshots and one whole delta cycle
      await sleep(6000);
      if (stats.lost > 0) throw new Error(`${stats.lost} fake agents lost their link: ${stats.lostReasons.join('; ')}`);
      const stateFile = path.join(controller.dir, 'data', 'state.json');
      const fakeCpu0 = process.cpuUsage();
      const counts0 = { ...stats };
      const start = cpuMs(pid);
      const t0 = performance.now();
      const perWindow = [];
      for (let w = 0; w < subWindows; w++) {
        const c0 = cpuMs(pid);
        const w0 = performance.now();
        await sleep(windowMs / subWindows);
        const c1 = cpuMs(pid);
        perWindow.push(((c1 - c0) / (performance.now() - w0)) * 100);
      }
      const used = cpuMs(pid) - start;
      const elapsed = performance.now() - t0;
      const cpuPct = (used / elapsed) * 100;
      const fakeCpu = process.cpuUsage(fakeCpu0);
      const steadyMem = memoryOf(pid);
      const secs = elapsed / 1000;
      const rate = (k) => (stats[k] - counts0[k]) / secs;
      ctx.log(
        `steady ${num(secs)} s: controller CPU ${num(used)} ms = ${cpuPct.toFixed(2)}% of a core (windows: ${list(perWindow, (x) => `${x.toFixed(2)}%`)}); ` +
          `load: ${num(rate('messages'))} msgs/s (${num(rate('heartbeats'))} heartbeats/s, ${num(rate('deltas'))} deltas/s of ${appsPerAgent} apps${logRate ? `, ${num(rate('logLines'))} log lines/s` : ''})`,
      );
      ctx.log(`controller memory: ${memText(steadyMem)} (+${num(mb(steadyMem.rss - idleMem.rss))} MB RSS over no agents); state.json ${num(fs.statSync(stateFile).size / 1024)} KiB`);
      ctx.log(`fake agents' own process: ${num((fakeCpu.user + fakeCpu.system) / 1000 / secs / 10)}% of a core`);

      // ---- the CLI against it
      laptop = await new Laptop(controller).init();
      const cpuBeforeCli = cpuMs(pid);
      const ls = await timeCli(laptop, ['ls', '--json'], runs);
      const cpuLs = cpuMs(pid) - cpuBeforeCli;
      const rows = JSON.parse(ls.stdout);
      ctx.log(`fleet ls --json: ${list(ls.times)} -> median ${num(ls.median)} ms (${rows.length} rows, ${num(ls.stdout.length / 1024)} KiB of JSON; controller CPU ${num(cpuLs / (runs + 1))} ms per call incl. background)`);
      const hostsJson = JSON.parse((await laptop.must(['hosts', '--json'])).stdout);
      const ready = hostsJson.filter((h) => h.status === 'ready').length;
      const instances = hostsJson.reduce((n, h) => n + (h.instances || 0), 0);
      if (ready !== agents) ctx.note(`controller-scale: fleet hosts showed ${ready}/${agents} hosts ready`);
      if (instances !== agents * procs) ctx.note(`controller-scale: fleet hosts counted ${instances} instances for ${agents * procs}`);
      const hosts = await timeCli(laptop, ['hosts'], runs);
      ctx.log(`fleet hosts: ${list(hosts.times)} -> median ${num(hosts.median)} ms (${ready}/${agents} ready, ${instances} instances)`);
      const afterCliMem = memoryOf(pid);
      ctx.log(`controller memory after the CLI calls: ${memText(afterCliMem)}`);

      const label = `${agents} agents × ${procs} procs`;
      ctx.note(
        `controller-scale: no agents ${num(mb(idleMem.rss))} MB RSS / ${num(mb(idleMem.private))} MB private; ` +
          `register CPU ${num(registerCpu)} ms; fleet ls --json ${rows.length} rows; fake agents' process ${num((fakeCpu.user + fakeCpu.system) / 1000 / secs / 10)}% CPU`,
      );
      return [
        { name: `controller CPU, ${label} (${windowMs / 1000} s steady)`, rows: [{ system: 'Fleet', value: cpuPct, unit: '% core' }], floor: FLOOR },
        { name: `controller RSS, ${label}`, rows: [{ system: 'Fleet', value: mb(steadyMem.rss), unit: 'MB' }], floor: FLOOR },
        { name: `controller private memory, ${label}`, rows: [{ system: 'Fleet', value: mb(steadyMem.private), unit: 'MB' }], floor: FLOOR },
        { name: `time for ${agents} agents to register (all at once)`, rows: [{ system: 'Fleet', value: fleet.registerAllMs, unit: 'ms' }], floor: FLOOR },
        { name: `\`fleet ls --json\` via controller, ${label} (median of ${runs})`, rows: [{ system: 'Fleet', value: ls.median, unit: 'ms' }], floor: FLOOR },
        { name: `\`fleet hosts\` via controller, ${agents} hosts (median of ${runs})`, rows: [{ system: 'Fleet', value: hosts.median, unit: 'ms' }], floor: FLOOR },
      ];
    } finally {
      if (laptop) await laptop.close();
      if (fleet) await fleet.close();
      await controller.close();
    }
  },
};
