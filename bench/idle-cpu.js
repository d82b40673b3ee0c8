'use strict';
// Idle CPU with 50 apps (NO_LISTEN=1): CPU time (utime + stime from
// /proc/<pid>/stat) of the supervisor processes — Fleet agent + runners vs
// PM2's God daemon — over 30 s of idling, both sets measured over the same
// windows (drift hits both alike). What each adds inside the apps is printed too.
const { startFiftyApps } = require('./lib/fifty-apps');
const { cpuMs, sleep } = require('./lib/proc');
const { sum, num } = require('./lib/stats');

function cpuOf(pids) {
  return sum(pids.map((p) => cpuMs(p) || 0));
}

module.exports = {
  title: 'idle CPU with 50 apps: supervisor CPU time over 30 s',
  needs: ['apps50'],
  async run(ctx) {
    const windows = 3;
    const windowMs = ctx.quick ? 3000 : 10_000;
    const fx = await ctx.shared.get('apps50', () => startFiftyApps(ctx.log));
    const { fleet, pm2 } = fx;
    // Past start-up work (runners and agent settle for some seconds after a start): idle means idle.
    await sleep(10_000);

    const agent = await fleet.daemonPid();
    const sets = {
      Fleet: [agent, ...fleet.runnerPids()],
      PM2: [pm2.daemonPid()],
    };
    const apps = {
      Fleet: (await fleet.ls()).map((r) => r.pid),
      PM2: (await pm2.jlist()).map((p) => p.pid),
    };
    ctx.log(`Fleet: agent + ${sets.Fleet.length - 1} runners; PM2: God daemon ${sets.PM2[0]}`);
    const used = { Fleet: 0, PM2: 0 };
    const appUsed = { Fleet: 0, PM2: 0 };
    for (let w = 0; w < windows; w++) {
      const start = { Fleet: cpuOf(sets.Fleet), PM2: cpuOf(sets.PM2) };
      const appStart = { Fleet: cpuOf(apps.Fleet), PM2: cpuOf(apps.PM2) };
      await sleep(windowMs);
      const line = [];
      for (const s of ['Fleet', 'PM2']) {
        const d = cpuOf(sets[s]) - start[s];
        const a = cpuOf(apps[s]) - appStart[s];
        used[s] += d;
        appUsed[s] += a;
        line.push(`${s} ${num(d)} ms (apps ${num(a)} ms)`);
      }
      ctx.log(`window ${w + 1} (${windowMs / 1000} s): ${line.join(' | ')}`);
    }
    const seconds = (windows * windowMs) / 1000;
    const per30 = (x) => (x * 30) / seconds;
    for (const s of ['Fleet', 'PM2']) {
      ctx.log(
        `${s}: supervisor ${num(per30(used[s]))} ms CPU per 30 s (${((used[s] / (seconds * 1000)) * 100).toFixed(2)}% of a core); ` +
          `inside its ${apps[s].length} apps ${num(per30(appUsed[s]))} ms`,
      );
    }
    ctx.note(
      `idle CPU, 50 apps, CPU ms per 30 s inside the apps themselves: Fleet ${num(per30(appUsed.Fleet))}, PM2 ${num(per30(appUsed.PM2))}`,
    );
    return {
      name: 'idle CPU, 50 apps: supervisor CPU per 30 s',
      rows: [
        { system: 'Fleet', value: per30(used.Fleet), unit: 'ms' },
        { system: 'PM2', value: per30(used.PM2), unit: 'ms' },
      ],
      floor: { text: 'no floor (Fleet / PM2)', ratio: used.Fleet / used.PM2, pass: null },
    };
  },
};
