'use strict';
// Cluster throughput, 2 instances: a CPU-bound handler (CPU_WORK) and a trivial
// one. Fleet (runner = cluster primary), PM2 (God daemon = cluster primary) and
// a plain node:cluster primary serve the same app on their own ports; the same
// load generator (wrk -t1, keep-alive) hits each in turn, all three every round;
// the order rotates per round (A B C, B C A, C A B, …) so no system always runs
// right after the same other one.
// Floor: Fleet ≥ 0.98× plain node:cluster (median requests/s of the rounds).
const { Fleet } = require('./lib/fleet');
const { Pm2 } = require('./lib/pm2');
const { plainCluster } = require('./lib/plain');
const { appSpec, writeEcosystem, scratch } = require('./lib/apps');
const { freePorts } = require('./lib/proc');
const { waitServing } = require('./lib/http');
const { measureThroughput } = require('./lib/load');
const { median, list, num } = require('./lib/stats');

const CASES = [
  { key: 'cpu', label: 'CPU-bound (CPU_WORK=20000)', env: { CPU_WORK: '20000' } },
  { key: 'trivial', label: 'trivial handler', env: {} },
];
const FLOOR = 0.98;

module.exports = {
  title: 'cluster throughput, 2 instances (requests/s, median of rounds)',
  floorText: `Fleet ≥ ${FLOOR}× cluster`,
  async run(ctx) {
    const rounds = ctx.quick ? 2 : 5;
    const seconds = ctx.quick ? 2 : 5;
    const connections = 16;
    const dir = scratch('throughput');
    const ports = await freePorts(CASES.length * 3);
    const fleet = new Fleet();
    const pm2 = await new Pm2().fresh();
    const plains = [];
    try {
      const targets = CASES.map((c, i) => ({
        ...c,
        ports: { Fleet: ports[i * 3], PM2: ports[i * 3 + 1], 'node:cluster': ports[i * 3 + 2] },
        rps: { Fleet: [], PM2: [], 'node:cluster': [] },
      }));
      const specs = (sys) =>
        targets.map((t) => appSpec({ name: `tp-${t.key}`, port: t.ports[sys], instances: 2, mode: 'cluster', env: t.env }));
      await fleet.start(writeEcosystem(dir, 'fleet.config.js', specs('Fleet')));
      await pm2.start(writeEcosystem(dir, 'pm2.config.js', specs('PM2')));
      for (const t of targets) plains.push(plainCluster({ workers: 2, env: { PORT: String(t.ports['node:cluster']), ...t.env } }));
      await waitServing(ports);

      ctx.log(`wrk -t1 -c${connections} -d${seconds}s, ${rounds} rounds, order rotating per round`);
      for (const t of targets) for (const sys of Object.keys(t.ports)) await measureThroughput(t.ports[sys], { seconds: 1, connections });
      for (let r = 0; r < rounds; r++) {
        for (const t of targets) {
          const line = [];
          const systems = Object.keys(t.ports);
          for (let k = 0; k < systems.length; k++) {
            const sys = systems[(k + r) % systems.length];
            const { rps, errors } = await measureThroughput(t.ports[sys], { seconds, connections });
            t.rps[sys].push(rps);
            line.push(`${sys} ${num(rps)}${errors ? ` (${errors})` : ''}`);
          }
          ctx.log(`round ${r + 1} ${t.key}: ${line.join(' | ')}`);
        }
      }

      return targets.map((t) => {
        const m = Object.fromEntries(Object.entries(t.rps).map(([s, xs]) => [s, median(xs)]));
        for (const s of Object.keys(m)) ctx.log(`${t.key} ${s}: rounds ${list(t.rps[s])} -> median ${num(m[s])}`);
        const ratio = m.Fleet / m['node:cluster'];
        return {
          name: `throughput, ${t.label}`,
          rows: Object.entries(m).map(([system, value]) => ({ system, value, unit: 'req/s' })),
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
