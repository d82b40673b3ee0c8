'use strict';
// SIGKILL → serving again. One instance on a fixed port: Fleet fork mode (its
// runner holds the port as cluster primary), PM2 fork mode, and a plain
// node:cluster primary with one worker that re-forks on exit. Kill the pid that
// answered, then poll (a new connection every 1 ms) until a request succeeds.
// Interleaved: Fleet, PM2, cluster kill per round. Median of the kills.
// Floor: Fleet ≤ plain node:cluster + 10 ms.
const { Fleet } = require('./lib/fleet');
const { Pm2 } = require('./lib/pm2');
const { plainCluster } = require('./lib/plain');
const { appSpec, writeEcosystem, scratch } = require('./lib/apps');
const { freePorts, kill, sleep } = require('./lib/proc');
const { get, servingPid, waitServing } = require('./lib/http');
const { median, list, num } = require('./lib/stats');

const SLACK_MS = 10;
// Let each instance run past min_uptime (1 s) before killing it again, so no
// system counts the kills as a crash loop.
const SETTLE_MS = 1200;

/**
 * Kills the serving instance, then opens a new connection every 1 ms (without
 * waiting for earlier ones: under a cluster primary a request can sit queued or
 * be lost with the dead worker) until one is answered by another pid.
 * Resolves {ms: kill → first answer}.
 */
async function killAndTime(port) {
  const pid = await servingPid(port);
  const t0 = performance.now();
  kill(pid, 'SIGKILL');
  return new Promise((resolve, reject) => {
    let done = false;
    let inflight = 0;
    const tick = () => {
      if (done) return;
      const elapsed = performance.now() - t0;
      if (elapsed > 30_000) {
        done = true;
        reject(new Error(`port ${port} not serving 30 s after SIGKILL of ${pid}`));
        return;
      }
      if (inflight < 200) {
        inflight++;
        get(port, { timeoutMs: 5000 }).then(
          (r) => {
            inflight--;
            if (!done && r.status === 200 && Number(r.body.split(' ')[0]) !== pid) {
              done = true;
              resolve({ ms: performance.now() - t0 });
            }
          },
          () => {
            inflight--;
          },
        );
      }
      setTimeout(tick, 1);
    };
    tick();
  });
}

module.exports = {
  title: 'SIGKILL of the only instance → serving again (ms, median)',
  floorText: `Fleet ≤ cluster + ${SLACK_MS} ms`,
  async run(ctx) {
    const kills = ctx.quick ? 3 : 7;
    const dir = scratch('recovery');
    const [pf, pp, pc] = await freePorts(3);
    const ports = { Fleet: pf, PM2: pp, 'node:cluster': pc };
    const fleet = new Fleet();
    const pm2 = await new Pm2().fresh();
    let plain;
    try {
      await fleet.start(writeEcosystem(dir, 'fleet.config.js', [appSpec({ name: 'rec', port: pf })]));
      await pm2.start(writeEcosystem(dir, 'pm2.config.js', [appSpec({ name: 'rec', port: pp })]));
      plain = plainCluster({ workers: 1, env: { PORT: String(pc) } });
      await waitServing(Object.values(ports));
      await sleep(SETTLE_MS);

      const times = { Fleet: [], PM2: [], 'node:cluster': [] };
      const recoveredAt = {};
      for (let k = 0; k < kills; k++) {
        const line = [];
        for (const sys of Object.keys(ports)) {
          const wait = (recoveredAt[sys] || 0) + SETTLE_MS - Date.now();
          if (wait > 0) await sleep(wait);
          const { ms } = await killAndTime(ports[sys]);
          recoveredAt[sys] = Date.now();
          times[sys].push(ms);
          line.push(`${sys} ${num(ms)} ms`);
        }
        ctx.log(`kill ${k + 1}: ${line.join(' | ')}`);
      }
      const m = Object.fromEntries(Object.entries(times).map(([s, xs]) => [s, median(xs)]));
      for (const s of Object.keys(m)) ctx.log(`${s}: ${list(times[s])} -> median ${num(m[s])} ms`);
      const restarts = (await fleet.ls()).map((r) => `${r.status}, ${r.restarts} restarts`);
      ctx.log(`fleet ls after: ${restarts.join('; ')}`);
      return {
        name: 'recovery after SIGKILL (fork mode, 1 instance)',
        rows: Object.entries(m).map(([system, value]) => ({ system, value, unit: 'ms' })),
        floor: {
          text: `Fleet ≤ cluster + ${SLACK_MS} ms`,
          ratio: m.Fleet / m['node:cluster'],
          pass: m.Fleet <= m['node:cluster'] + SLACK_MS,
        },
      };
    } finally {
      if (plain) await plain.close();
      await pm2.close();
      await fleet.close();
    }
  },
};
