'use strict';
// Memory overhead with 10 apps (fork mode, each on its own port): private memory
// (Private_Clean + Private_Dirty, /proc/<pid>/smaps_rollup) of what each system
// adds. Fleet = agent + runners + 10 × (app under Fleet − the same app run as
// `node app.js`); PM2 = God daemon + 10 × (app under PM2 − plain app).
// The three sets run side by side, get the same 1000 requests each and idle
// 12 s (V8's heap trimming done everywhere); samples interleaved, median per process.
// Floor: Fleet ≤ 0.75× PM2.
const http = require('node:http');
const { Fleet } = require('./lib/fleet');
const { Pm2 } = require('./lib/pm2');
const { plainApp, idleNode } = require('./lib/plain');
const { appSpec, writeEcosystem, scratch } = require('./lib/apps');
const { freePorts, privateBytes, sleep } = require('./lib/proc');
const { get, waitServing } = require('./lib/http');
const { median, mean, sum, mb, num } = require('./lib/stats');

const APPS = 10;
const FLOOR = 0.75;

/** Median private bytes per pid over the samples. */
function medians(samples) {
  const byPid = new Map();
  for (const s of samples) for (const [pid, b] of s) byPid.set(pid, [...(byPid.get(pid) || []), b]);
  return new Map([...byPid].map(([pid, xs]) => [pid, median(xs)]));
}

/** `count` requests over 4 keep-alive connections. */
async function warm(port, count) {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  try {
    for (let i = 0; i < count; i += 4) await Promise.all([0, 1, 2, 3].map(() => get(port, { agent })));
  } finally {
    agent.destroy();
  }
}

function sample(pids) {
  return new Map(pids.map((pid) => [pid, privateBytes(pid)]).filter(([, b]) => b !== undefined));
}

module.exports = {
  title: `memory overhead with ${APPS} apps (private MB)`,
  floorText: `Fleet ≤ ${FLOOR}× PM2`,
  async run(ctx) {
    const rounds = ctx.quick ? 2 : 5;
    const settleMs = 12_000;
    const dir = scratch('memory');
    const ports = await freePorts(APPS * 3);
    const fleetPorts = ports.slice(0, APPS);
    const pm2Ports = ports.slice(APPS, APPS * 2);
    const plainPorts = ports.slice(APPS * 2);
    const specs = (ps) => ps.map((port, i) => appSpec({ name: `mem-${i}`, port }));
    const fleet = new Fleet();
    const pm2 = await new Pm2().fresh();
    const plains = [];
    // The floor under any per-app Node process (a runner is one): `node -e` with an idle timer.
    const bare = idleNode();
    try {
      await fleet.start(writeEcosystem(dir, 'fleet.config.js', specs(fleetPorts)));
      await pm2.start(writeEcosystem(dir, 'pm2.config.js', specs(pm2Ports)));
      for (const port of plainPorts) plains.push(plainApp({ env: { PORT: String(port) } }));
      await waitServing(ports);
      // The same use of every app (1000 keep-alive requests), then idle past the
      // point where V8's memory reducer trims the heap (~8 s after activity):
      // an app that never collected garbage would otherwise be compared with one
      // that did, and the gap between them is ~1-3 MB per app either way.
      for (const port of ports) await warm(port, 1000);
      await sleep(settleMs);

      const agent = await fleet.daemonPid();
      const runners = fleet.runnerPids();
      const fleetApps = (await fleet.ls()).map((r) => r.pid);
      const god = pm2.daemonPid();
      const pm2Apps = (await pm2.jlist()).map((p) => p.pid);
      const plainPids = plains.map((p) => p.pid);
      if (runners.length !== APPS) ctx.note(`memory: found ${runners.length} Fleet runners for ${APPS} apps`);

      const samples = { Fleet: [], PM2: [], plain: [], bare: [] };
      for (let r = 0; r < rounds; r++) {
        samples.Fleet.push(sample([agent, ...runners, ...fleetApps]));
        samples.PM2.push(sample([god, ...pm2Apps]));
        samples.plain.push(sample(plainPids));
        samples.bare.push(sample([bare.pid]));
        await sleep(500);
      }
      const m = { Fleet: medians(samples.Fleet), PM2: medians(samples.PM2), plain: medians(samples.plain), bare: medians(samples.bare) };
      const bareB = m.bare.get(bare.pid);
      const plainAvg = mean(plainPids.map((p) => m.plain.get(p)));
      const fleetAppAvg = mean(fleetApps.map((p) => m.Fleet.get(p)));
      const pm2AppAvg = mean(pm2Apps.map((p) => m.PM2.get(p)));
      const agentB = m.Fleet.get(agent);
      const runnersB = sum(runners.map((p) => m.Fleet.get(p)));
      const godB = m.PM2.get(god);
      const fleetAdded = fleetAppAvg - plainAvg;
      const pm2Added = pm2AppAvg - plainAvg;
      const fleetTotal = agentB + runnersB + APPS * fleetAdded;
      const pm2Total = godB + APPS * pm2Added;

      ctx.log(`plain \`node app.js\`: ${num(mb(plainAvg))} MB per app (×${APPS} = ${num(mb(plainAvg * APPS))} MB)`);
      ctx.log(
        `Fleet: agent ${num(mb(agentB))} MB + ${runners.length} runners ${num(mb(runnersB))} MB (avg ${num(
          mb(runnersB / runners.length),
        )}) + per app added ${num(mb(fleetAdded))} MB ×${APPS} (app ${num(mb(fleetAppAvg))} MB) = ${num(mb(fleetTotal))} MB`,
      );
      ctx.log(
        `PM2:   God daemon ${num(mb(godB))} MB + per app added ${num(mb(pm2Added))} MB ×${APPS} (app ${num(
          mb(pm2AppAvg),
        )} MB) = ${num(mb(pm2Total))} MB`,
      );
      ctx.log(`idle \`node -e\` (the least a Node process costs): ${num(mb(bareB))} MB`);
      ctx.note(
        `memory breakdown: Fleet agent ${num(mb(agentB))} MB, runner avg ${num(mb(runnersB / runners.length))} MB, ` +
          `added per app ${num(mb(fleetAdded))} MB; PM2 daemon ${num(mb(godB))} MB, added per app ${num(mb(pm2Added))} MB; ` +
          `plain app ${num(mb(plainAvg))} MB; an idle \`node -e\` ${num(mb(bareB))} MB, so ${APPS} Node runners alone cost at least ` +
          `${num(mb(APPS * bareB))} MB against a floor of ${num(mb(FLOOR * pm2Total))} MB for everything`,
      );
      const ratio = fleetTotal / pm2Total;
      return {
        name: `memory overhead, ${APPS} apps (fork mode)`,
        rows: [
          { system: 'Fleet', value: mb(fleetTotal), unit: 'MB' },
          { system: 'PM2', value: mb(pm2Total), unit: 'MB' },
          { system: 'node:cluster', value: `0 (apps alone ${num(mb(plainAvg * APPS))} MB)`, unit: '' },
        ],
        floor: { text: `Fleet ≤ ${FLOOR}× PM2`, ratio, pass: ratio <= FLOOR },
      };
    } finally {
      await bare.close();
      for (const p of plains) await p.close();
      await pm2.close();
      await fleet.close();
    }
  },
};
