'use strict';
// Cluster throughput, 2 instances: a CPU-bound handler (CPU_WORK) and a trivial
// one. Fleet (runner = cluster primary), PM2 (God daemon = cluster primary) and
// a plain node:cluster primary serve the same app on their own ports; the same
// load generator (wrk -t1, keep-alive) hits each in turn, all of them every
// round; the order rotates per round (A B C, B C A, …) so no system always runs
// right after the same other one. Floor: Fleet ≥ 0.98× plain node:cluster
// (median requests/s of the rounds).
//
// On a 2-core machine the client competes with the servers for CPU, and with the
// kernel's autogroup scheduling (sched_autogroup_enabled) CPU is shared per
// session first. The client runs in a session of its own (an outside client);
// the plain primary too (as a service manager starts it). A system whose
// instances each sit in a session of their own takes CPU from the client that
// one session for all leaves to it (Fleet did, with setsid per worker, until
// 3426f3c: ~0.85× on the trivial handler). So the notes also give requests per
// CPU-second of the serving processes, which no such sharing changes.
const { Fleet } = require('./lib/fleet');
const { Pm2 } = require('./lib/pm2');
const { plainCluster } = require('./lib/plain');
const { appSpec, writeEcosystem, scratch } = require('./lib/apps');
const { freePorts, cpuMs, descendants } = require('./lib/proc');
const { waitServing } = require('./lib/http');
const { measureThroughput } = require('./lib/load');
const { median, list, num } = require('./lib/stats');

const CASES = [
  { key: 'cpu', label: 'CPU-bound (CPU_WORK=20000)', env: { CPU_WORK: '20000' } },
  { key: 'trivial', label: 'trivial handler', env: {} },
];
const SYSTEMS = ['Fleet', 'PM2', 'node:cluster'];
const FLOOR = 0.98;

module.exports = {
  title: 'cluster throughput, 2 instances (requests/s, median of rounds)',
  floorText: `Fleet ≥ ${FLOOR}× cluster`,
  async run(ctx) {
    const rounds = ctx.quick ? 2 : 5;
    const seconds = ctx.quick ? 2 : 4;
    const connections = 16;
    const dir = scratch('throughput');
    const ports = await freePorts(CASES.length * SYSTEMS.length);
    const fleet = new Fleet();
    const pm2 = await new Pm2().fresh();
    const plains = [];
    try {
      const targets = CASES.map((c, i) => ({
        ...c,
        name: `tp-${c.key}`,
        ports: Object.fromEntries(SYSTEMS.map((s, j) => [s, ports[i * SYSTEMS.length + j]])),
        rps: Object.fromEntries(SYSTEMS.map((s) => [s, []])),
        perCpu: Object.fromEntries(SYSTEMS.map((s) => [s, []])),
      }));
      const specs = (sys) =>
        targets.map((t) => appSpec({ name: t.name, port: t.ports[sys], instances: 2, mode: 'cluster', env: t.env }));
      await fleet.start(writeEcosystem(dir, 'fleet.config.js', specs('Fleet')));
      await pm2.start(writeEcosystem(dir, 'pm2.config.js', specs('PM2')));
      for (const t of targets) {
        t.plain = plainCluster({ workers: 2, env: { PORT: String(t.ports['node:cluster']), ...t.env } });
        plains.push(t.plain);
      }
      await waitServing(ports);

      // The serving processes of each system: instances + primary (runner / God / primary),
      // looked up around every measurement (an instance replaced meanwhile is reported).
      const serverPids = async (t, sys) => {
        if (sys === 'Fleet') {
          const runner = fleet.runnerPidOf(t.name);
          return [runner, ...descendants(runner).map((p) => p.pid)];
        }
        if (sys === 'PM2') {
          const rows = (await pm2.jlist()).filter((p) => p.name === t.name);
          return [pm2.daemonPid(), ...rows.map((p) => p.pid)];
        }
        return [t.plain.pid, ...descendants(t.plain.pid).map((p) => p.pid)];
      };
      const serverCpu = (pids) => pids.reduce((a, pid) => a + (cpuMs(pid) || 0), 0);
      let replaced = 0;

      ctx.log(`wrk -t1 -c${connections} -d${seconds}s, ${rounds} rounds, order rotating per round; req/s (req per server CPU-s)`);
      for (const t of targets) for (const sys of SYSTEMS) await measureThroughput(t.ports[sys], { seconds: 1, connections });
      for (let r = 0; r < rounds; r++) {
        for (const t of targets) {
          const line = [];
          for (let k = 0; k < SYSTEMS.length; k++) {
            const sys = SYSTEMS[(k + r) % SYSTEMS.length];
            const pids = await serverPids(t, sys);
            const cpu0 = serverCpu(pids);
            const { rps, errors } = await measureThroughput(t.ports[sys], { seconds, connections });
            const perCpu = (rps * seconds) / ((serverCpu(pids) - cpu0) / 1000);
            const after = await serverPids(t, sys);
            const changed = after.join() !== pids.join();
            if (changed) replaced++;
            t.rps[sys].push(rps);
            t.perCpu[sys].push(changed ? NaN : perCpu);
            line.push(`${sys} ${num(rps)} (${num(perCpu)})${errors ? ` [${errors}]` : ''}${changed ? ' [instances replaced during the run]' : ''}`);
          }
          ctx.log(`round ${r + 1} ${t.key}: ${line.join(' | ')}`);
        }
      }

      if (replaced) ctx.note(`throughput: in ${replaced} measurement(s) an instance was replaced while loaded (killed from outside?)`);
      return targets.map((t) => {
        const m = Object.fromEntries(SYSTEMS.map((s) => [s, median(t.rps[s])]));
        const e = Object.fromEntries(SYSTEMS.map((s) => [s, median(t.perCpu[s])]));
        for (const s of SYSTEMS) {
          ctx.log(`${t.key} ${s}: rounds ${list(t.rps[s])} -> median ${num(m[s])} req/s; ${num(e[s])} req per server CPU-second`);
        }
        const ratio = m.Fleet / m['node:cluster'];
        ctx.note(
          `throughput ${t.key}: Fleet/cluster ${ratio.toFixed(2)}× in req/s, ${(e.Fleet / e['node:cluster']).toFixed(2)}× in ` +
            `requests per CPU-second of the serving processes`,
        );
        return {
          name: `throughput, ${t.label}`,
          rows: SYSTEMS.map((system) => ({ system, value: m[system], unit: 'req/s' })),
          floor: { text: `Fleet ≥ ${FLOOR}× cluster`, ratio, pass: ratio >= FLOOR },
        };
      });
    } finally {
      for (const p of plains) await p.close();
      await pm2.close();
      await fleet.close();
    }
  },
};
