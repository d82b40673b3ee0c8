'use strict';
// What metrics cost at 50 instances. Two real local daemons side by side, each a
// foreground `fleet agent --metrics-listen 127.0.0.1:<port>` with its own
// FLEET_HOME, each running 10 apps × 5 cluster instances of apps/probe-load.js
// (no HTTP; wait_ready):
//   A  the app does nothing but stay alive (the preload shim still reports
//      event-loop lag and heap every 5 s: that is always on)
//   B  the app records 5 counters, 2 gauges, 1 meter and 2 histograms with
//      @fleet/probe, each updated ~100 times/s, reported at the default 5 s
//   C  B's daemon while its GET /metrics is scraped every 5 s (by this process)
// B and C are the same daemon and apps: the measure windows go B C C B B C …
// (A runs through all of them), so machine drift hits every case alike.
// Per window: utime + stime (/proc/<pid>/stat) of the agent, of all runners,
// of all instances, and the agents' RSS. The cost of metrics is B − A and
// C − A over the same windows, in ms per 30 s and % of a core.
// Beside them, 10 + 10 plain `node apps/probe-load.js` (PROBE=0 / 1: no shim, a
// probe with no runner to send to) in the same windows: what the app costs by
// itself, so an instance's CPU splits into the app's and Fleet's. The agent's
// and runners' figures are also taken from schedstat (ns) as a cross-check of
// the 10 ms ticks.
// Sanity, outside the windows (a CLI call costs the agent CPU): every instance
// online and not restarted, `fleet describe <app> --json` of B shows the
// counters > 0 in every instance and summed for the app, A's shows none, every
// scrape answered 200 with fleet_app_ lines. A failed check fails the bench.
//
// Knobs (env): BENCH_METRICS_APPS (10), BENCH_METRICS_INSTANCES (5),
// BENCH_METRICS_PLAIN (10 of each plain app; 0 for none),
// BENCH_METRICS_WINDOW_MS (10000; --quick 5000); 30 s measured per case
// (--quick 10 s). Also runs alone: node bench/metrics-cost.js [--quick].
const fs = require('node:fs');
const path = require('node:path');
const http = require('node:http');
const { Fleet, FLEET_BIN } = require('./lib/fleet');
const { plainApp } = require('./lib/plain');
const { ROOT, appSpec, writeEcosystem, scratch } = require('./lib/apps');
const { cpuMs, sleep, waitFor, onCleanup, kill, freePort, spawnKept } = require('./lib/proc');
const { sum, median, num } = require('./lib/stats');

const FLOOR = { text: '— (reported)', ratio: '—', pass: null };
const APP_SCRIPT = path.join(__dirname, 'apps', 'probe-load.js');
const SCRAPE_EVERY_MS = 5000;
const SCRAPE_OFFSET_MS = 500; // the first scrape of a window, so its work falls inside it

/** VmRSS of a process, in bytes (undefined when gone). */
function rssBytes(pid) {
  let text;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const m = /^VmRSS:\s+(\d+) kB/m.exec(text);
  return m ? Number(m[1]) * 1024 : undefined;
}

/**
 * On-CPU time of a process in ms, from /proc/<pid>/task/<tid>/schedstat (ns, every thread): the
 * same CPU as utime + stime without its 10 ms ticks, for a cross-check of the small figures.
 * undefined when gone or the kernel has no schedstat.
 */
function cpuNsMs(pid) {
  try {
    let ns = 0;
    for (const t of fs.readdirSync(`/proc/${pid}/task`)) ns += Number(fs.readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[0]);
    return Number.isFinite(ns) ? ns / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

function cpuOf(pids) {
  return sum(pids.map((p) => cpuMs(p) || 0));
}

/** GET http://127.0.0.1:port/metrics over a new connection: {status, body, ms}. */
function scrape(port, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const req = http.get({ host: '127.0.0.1', port, path: '/metrics', agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body, ms: performance.now() - t0 }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
  });
}

/** A foreground `fleet agent --metrics-listen` in a throwaway FLEET_HOME; the CLI (lib/fleet.js) talks to it. */
class LocalAgent {
  constructor(label) {
    this.label = label;
    this.fleet = new Fleet();
    // Registered after the Fleet's own hook, so it runs first: fleet kill, then make sure the agent is gone.
    this.dispose = onCleanup(() => this.stop());
  }

  async start() {
    this.port = await freePort();
    const args = [FLEET_BIN, 'agent', '--metrics-listen', `127.0.0.1:${this.port}`];
    this.proc = spawnKept(args, { cwd: ROOT, env: this.fleet.env });
    this.child = this.proc.child;
    this.pid = this.proc.pid;
    this.exited = this.proc.exited;
    await waitFor(
      async () => {
        if (!this.alive) throw new Error(`fleet agent (${this.label}) exited:\n${this.output.trim()}`);
        return /metrics on http/.test(this.output) && (await this.fleet.daemonPid()) === this.pid;
      },
      { timeoutMs: 20_000, intervalMs: 100, message: `agent ${this.label} serving its socket and /metrics` },
    );
    return this;
  }

  get output() {
    return this.proc ? this.proc.output() : '';
  }

  get alive() {
    return Boolean(this.proc && this.proc.alive());
  }

  async stop() {
    await this.fleet.close(); // fleet kill: the apps, then the daemon; sweeps and removes the home
    if (this.alive) {
      const done = await Promise.race([this.exited, sleep(10_000).then(() => undefined)]);
      if (!done) {
        process.stderr.write(`[bench] agent ${this.label} (${this.pid}) still up 10 s after fleet kill: SIGKILL\n`);
        kill(this.pid);
        await this.exited;
      }
    }
  }

  close() {
    return this.dispose();
  }
}

/** Every instance of the ecosystem online; resolves the rows of `fleet ls --json`. */
async function allOnline(agent, expected) {
  let rows = [];
  await waitFor(
    async () => {
      rows = await agent.fleet.ls();
      return rows.length === expected && rows.every((r) => r.status === 'online' && r.pid > 0);
    },
    { timeoutMs: 60_000, intervalMs: 500, message: `${expected} instances online under ${agent.label}` },
  ).catch((err) => {
    const bad = rows.filter((r) => r.status !== 'online').map((r) => `${r.app}#${r.instance} ${r.status}`);
    throw new Error(`${err.message} (${rows.length} rows; not online: ${bad.slice(0, 8).join(', ') || '—'})`);
  });
  return rows;
}

function pct(ms, wallMs) {
  return (ms / wallMs) * 100;
}

module.exports = {
  title: 'CPU cost of metrics at 50 instances: agent, runners, instances; no metrics vs @fleet/probe vs probe + /metrics scraped',
  floorText: FLOOR.text,
  async run(ctx) {
    const appCount = Number(process.env.BENCH_METRICS_APPS) || 10;
    const perApp = Number(process.env.BENCH_METRICS_INSTANCES) || 5;
    const plainCount = Number(process.env.BENCH_METRICS_PLAIN ?? 10);
    const total = appCount * perApp;
    const windowMs = Number(process.env.BENCH_METRICS_WINDOW_MS) || (ctx.quick ? 5000 : 10_000);
    const perCaseMs = ctx.quick ? 10_000 : 30_000;
    const pairs = Math.max(1, Math.round(perCaseMs / windowMs));
    // Past start-up (instances keep compiling for ~20 s) and the probe's first 5 s reports.
    const settleMs = ctx.quick ? 10_000 : 20_000;

    const dir = scratch('metrics-cost');
    const eco = (label, probe) =>
      writeEcosystem(
        dir,
        `${label}.config.js`,
        Array.from({ length: appCount }, (_, i) =>
          appSpec({ name: `${label}-${i}`, script: APP_SCRIPT, mode: 'cluster', instances: perApp, wait_ready: true, env: { PROBE: probe ? '1' : '0' } }),
        ),
      );
    const files = { A: eco('idle', false), B: eco('probe', true) };

    const agents = { A: new LocalAgent('A'), B: new LocalAgent('B') };
    const plain = [];
    try {
      await Promise.all(Object.values(agents).map((a) => a.start()));
      const sets = {};
      for (const k of ['A', 'B']) {
        const r = await agents[k].fleet.start(files[k]);
        const rows = await allOnline(agents[k], total);
        const runners = agents[k].fleet.runnerPids();
        if (runners.length !== appCount) throw new Error(`${k}: ${runners.length} runners found, ${appCount} expected`);
        sets[k] = { agent: agents[k].pid, runners, instances: rows.map((x) => x.pid), rows };
        ctx.log(`${k}: agent ${agents[k].pid}, ${runners.length} runners, ${rows.length} instances online (fleet start ${(r.ms / 1000).toFixed(1)} s)`);
      }
      // The same app as plain `node probe-load.js`, no Fleet around it (no shim, the probe records but
      // sends nothing): what the app costs by itself, so the instances' figures can be split.
      const plainPids = { A: [], B: [] };
      for (let i = 0; i < plainCount; i++) {
        for (const k of ['A', 'B']) {
          const p = plainApp({ app: APP_SCRIPT, env: { PROBE: k === 'B' ? '1' : '0' } });
          plain.push(p);
          plainPids[k].push(p.pid);
        }
      }
      await sleep(settleMs);

      // ---- the windows: B C C B B C … (balanced against drift); A and the plain apps throughout ----
      const acc = {};
      for (const c of ['A@B', 'B', 'A@C', 'C']) acc[c] = { agent: 0, runners: 0, instances: 0, plain: 0, agentNs: 0, runnersNs: 0, wallMs: 0, rss: [] };
      const scrapes = [];
      const take = (k) => ({
        agent: cpuMs(sets[k].agent),
        runners: cpuOf(sets[k].runners),
        instances: cpuOf(sets[k].instances),
        plain: cpuOf(plainPids[k]),
        agentNs: cpuNsMs(sets[k].agent),
        runnersNs: sum(sets[k].runners.map((p) => cpuNsMs(p))),
      });
      const precise = cpuNsMs(process.pid) !== undefined;
      for (let w = 0; w < pairs * 2; w++) {
        const scraped = (w % 2 === 1) !== (Math.floor(w / 2) % 2 === 1);
        const bCase = scraped ? 'C' : 'B';
        const start = { A: take('A'), B: take('B') };
        const t0 = performance.now();
        const pending = [];
        const timers = [];
        if (scraped) {
          for (let at = SCRAPE_OFFSET_MS; at < windowMs; at += SCRAPE_EVERY_MS) {
            timers.push(setTimeout(() => pending.push(scrape(agents.B.port).then((x) => scrapes.push(x), (err) => scrapes.push({ error: err.message }))), at));
          }
        }
        await sleep(windowMs);
        timers.forEach(clearTimeout);
        await Promise.all(pending);
        const end = { A: take('A'), B: take('B') };
        const wallMs = performance.now() - t0;
        if ([start.A, start.B, end.A, end.B].some((x) => x.agent === undefined)) throw new Error('an agent went away during the measure');
        const line = [];
        for (const [k, c] of [['A', `A@${bCase}`], ['B', bCase]]) {
          const a = acc[c];
          const d = {};
          for (const f of ['agent', 'runners', 'instances', 'plain', 'agentNs', 'runnersNs']) {
            d[f] = end[k][f] - start[k][f];
            a[f] += d[f];
          }
          a.wallMs += wallMs;
          a.rss.push(rssBytes(sets[k].agent));
          line.push(`${k === 'A' ? 'A' : bCase}: agent ${num(d.agent)} ms, runners ${num(d.runners)} ms, instances ${num(d.instances)} ms`);
        }
        ctx.log(`window ${w + 1} (${(wallMs / 1000).toFixed(1)} s${scraped ? `, ${timers.length} scrape(s) of B's /metrics` : ''}): ${line.join(' | ')}`);
      }
      for (const p of plain.splice(0)) await p.close();

      // ---- sanity, outside the windows (a CLI call costs the agent CPU) ----
      const problems = [];
      for (const k of ['A', 'B']) {
        const rows = await agents[k].fleet.ls();
        const before = new Map(sets[k].rows.map((r) => [`${r.app}#${r.instance}`, r]));
        const changed = rows.filter((r) => {
          const b = before.get(`${r.app}#${r.instance}`);
          return !b || b.pid !== r.pid || r.status !== 'online' || r.restarts !== b.restarts;
        });
        if (rows.length !== total || changed.length) problems.push(`${k}: ${changed.length} instance(s) restarted or not online during the measure (${rows.length} rows)`);
      }
      const describe = async (k, app) => JSON.parse((await agents[k].fleet.must(['describe', app, '--json'])).stdout)[0];
      const dB = await describe('B', 'probe-0');
      const counter = (ms) => (ms || []).find((m) => m.name === 'bench_events_0');
      const appCounter = counter(dB.metrics);
      const withMetrics = dB.instances.filter((i) => (counter(i.metrics) || {}).value > 0);
      const instanceSum = sum(dB.instances.map((i) => (counter(i.metrics) || {}).value || 0));
      ctx.log(
        `sanity B: probe-0 bench_events_0 = ${appCounter ? num(appCounter.value) : 'missing'} for the app (sum of its instances ${num(instanceSum)}), ` +
          `${withMetrics.length}/${dB.instances.length} instances with it > 0, ${(dB.metrics || []).length} app metrics; ` +
          `heap reported by ${dB.instances.filter((i) => i.heapUsedBytes > 0).length}/${dB.instances.length}`,
      );
      if (!appCounter || !(appCounter.value > 0)) problems.push('B: fleet describe probe-0 --json shows no bench_events_0 > 0 for the app');
      if (withMetrics.length !== perApp) problems.push(`B: only ${withMetrics.length}/${perApp} instances of probe-0 report their counters`);
      if ((dB.metrics || []).length !== 10) problems.push(`B: probe-0 has ${(dB.metrics || []).length} app metrics, 10 expected`);
      const dA = await describe('A', 'idle-0');
      ctx.log(`sanity A: idle-0 has ${(dA.metrics || []).length} app metrics; heap reported by ${dA.instances.filter((i) => i.heapUsedBytes > 0).length}/${dA.instances.length}`);
      if ((dA.metrics || []).length !== 0) problems.push(`A: idle-0 shows ${(dA.metrics || []).length} app metrics, none expected`);
      const okScrapes = scrapes.filter((s) => s.status === 200 && /^fleet_app_bench_events_0_total\{/m.test(s.body));
      const appLines = okScrapes.map((s) => s.body.split('\n').filter((l) => l.startsWith('fleet_app_')).length);
      const sizes = okScrapes.map((s) => s.body.length);
      ctx.log(
        `sanity C: ${okScrapes.length}/${scrapes.length} scrapes answered 200 with fleet_app_ lines (${num(median(appLines))} of them, ` +
          `${num(median(sizes) / 1024)} KB a response, ${num(median(okScrapes.map((s) => s.ms)))} ms median)`,
      );
      for (const s of scrapes.filter((x) => !okScrapes.includes(x)).slice(0, 3)) ctx.log(`  bad scrape: ${s.error || `HTTP ${s.status}: ${String(s.body).slice(0, 200)}`}`);
      if (scrapes.length === 0 || okScrapes.length !== scrapes.length) problems.push(`C: ${scrapes.length - okScrapes.length} of ${scrapes.length} scrapes failed or had no fleet_app_ lines`);
      if (problems.length) throw new Error(`broken run: ${problems.join('; ')}`);

      // ---- figures ----
      const per30 = (a, f) => (a[f] * 30_000) / a.wallMs;
      const fig = (c) => {
        const a = acc[c];
        return {
          agent: per30(a, 'agent'),
          runners: per30(a, 'runners'),
          agentNs: per30(a, 'agentNs'),
          runnersNs: per30(a, 'runnersNs'),
          perInstance: per30(a, 'instances') / total,
          plainPerInstance: plainCount ? per30(a, 'plain') / plainCount : NaN,
          agentPct: pct(a.agent, a.wallMs),
          runnersPct: pct(a.runners, a.wallMs),
          instancesPct: pct(a.instances, a.wallMs),
          rss: median(a.rss),
        };
      };
      const aB = fig('A@B');
      const aC = fig('A@C');
      const allA = {};
      for (const f of Object.keys(aB)) allA[f] = (aB[f] + aC[f]) / 2;
      allA.rss = median([...acc['A@B'].rss, ...acc['A@C'].rss]);
      const B = fig('B');
      const C = fig('C');
      const diff = (x, a) => Object.fromEntries(Object.keys(x).map((f) => [f, x[f] - a[f]]));
      const costB = diff(B, aB);
      const costC = diff(C, aC);
      // Inside an instance, Fleet's share is what it costs beyond the same app run plainly.
      for (const x of [allA, B, C, costB, costC]) x.fleetPerInstance = x.perInstance - x.plainPerInstance;
      const seconds = (acc.B.wallMs / 1000).toFixed(0);

      const cols = [
        ['A: no metrics', allA],
        ['B: probe', B],
        ['C: B + scrape', C],
        ['B − A', costB],
        ['C − A', costC],
      ];
      const rowsOut = [
        ['agent CPU, ms / 30 s', (x) => num(x.agent)],
        ['agent CPU, % of a core', (x) => x.agentPct.toFixed(2)],
        [`${appCount} runners, ms / 30 s`, (x) => num(x.runners)],
        [`${appCount} runners, % of a core`, (x) => x.runnersPct.toFixed(2)],
        ['per instance, ms / 30 s', (x) => num(x.perInstance)],
        ['  same app as plain node', (x) => num(x.plainPerInstance)],
        ['  Fleet in the instance', (x) => num(x.fleetPerInstance)],
        [`${total} instances, % of a core`, (x) => x.instancesPct.toFixed(2)],
        ['agent RSS, MB', (x) => num(x.rss / 2 ** 20)],
      ];
      const w0 = Math.max(...rowsOut.map((r) => r[0].length));
      const widths = cols.map(([h]) => Math.max(h.length, 9));
      ctx.log('');
      ctx.log(`${''.padEnd(w0)}  ${cols.map(([h], i) => h.padStart(widths[i])).join('  ')}`);
      for (const [label, f] of rowsOut) ctx.log(`${label.padEnd(w0)}  ${cols.map(([, x], i) => f(x).padStart(widths[i])).join('  ')}`);
      ctx.log('');
      ctx.log(
        `${total} instances (${appCount} apps × ${perApp}, cluster mode); ${seconds} s measured per case in ${pairs * 2} windows of ${windowMs / 1000} s (B C C B …); ` +
          `A ran through all of them and each cost is the difference over the same windows (A's column: the mean of both). CPU ticks are 10 ms: ±10 ms a window.`,
      );
      if (precise) {
        ctx.log(
          `cross-check without the 10 ms ticks (schedstat), ms / 30 s — agent: A ${num(allA.agentNs)}, B ${num(B.agentNs)}, C ${num(C.agentNs)}, ` +
            `B − A ${num(costB.agentNs)}, C − A ${num(costC.agentNs)}; runners: A ${num(allA.runnersNs)}, B ${num(B.runnersNs)}, C ${num(C.runnersNs)}, ` +
            `B − A ${num(costB.runnersNs)}, C − A ${num(costC.runnersNs)}`,
        );
      }
      if (plainCount) {
        ctx.log(
          `"same app as plain node": ${plainCount} + ${plainCount} runs of \`node apps/probe-load.js\` (PROBE=0 / 1) beside Fleet, measured in the same windows: ` +
            'no preload shim, and the probe records but has no runner to send to. "Fleet in the instance" = the instance − that: in A the lag/heap ' +
            'shim (always on), in B also the probe\'s IPC reports; it is smaller in B because the shim\'s 20 ms event-loop-delay timer then mostly ' +
            'fires on wake-ups the app\'s own 100 Hz timer makes anyway. The app\'s own timer and metric updates are in the plain figure.',
        );
      }
      ctx.note(
        `metrics-cost, ${total} instances: agent CPU per 30 s A ${num(allA.agent)} / B ${num(B.agent)} / C ${num(C.agent)} ms; ` +
          `runners A ${num(allA.runners)} / B ${num(B.runners)} / C ${num(C.runners)} ms; Fleet inside each instance A ${num(allA.fleetPerInstance)} / B ${num(B.fleetPerInstance)} ms; ` +
          `agent RSS A ${num(allA.rss / 2 ** 20)} / B ${num(B.rss / 2 ** 20)} / C ${num(C.rss / 2 ** 20)} MB`,
      );

      const both = (f) => `${num(costB[f])} / ${num(costC[f])} ms per 30 s (${pct(costB[f], 30_000).toFixed(2)} / ${pct(costC[f], 30_000).toFixed(2)} % of a core)`;
      const label = `${total} instances`;
      return [
        {
          name: `metrics cost, ${label}: agent CPU per 30 s, A no metrics / B @fleet/probe / C B + /metrics every 5 s`,
          rows: [{ system: 'Fleet', value: `${num(allA.agent)} / ${num(B.agent)} / ${num(C.agent)}`, unit: 'ms' }],
          floor: FLOOR,
        },
        { name: `metrics cost, ${label}: agent CPU, B − A / C − A`, rows: [{ system: 'Fleet', value: both('agent') }], floor: FLOOR },
        { name: `metrics cost, ${label}: ${appCount} runners' CPU, B − A / C − A`, rows: [{ system: 'Fleet', value: both('runners') }], floor: FLOOR },
        {
          name: `metrics cost, ${label}: Fleet's CPU inside each instance (beyond plain node), A / B`,
          rows: [{ system: 'Fleet', value: `${num(allA.fleetPerInstance)} / ${num(B.fleetPerInstance)} ms per 30 s` }],
          floor: FLOOR,
        },
        {
          name: `metrics cost, ${label}: agent RSS, A / B / C`,
          rows: [{ system: 'Fleet', value: `${num(allA.rss / 2 ** 20)} / ${num(B.rss / 2 ** 20)} / ${num(C.rss / 2 ** 20)}`, unit: 'MB' }],
          floor: FLOOR,
        },
      ];
    } finally {
      for (const p of plain) await p.close();
      await Promise.all(Object.values(agents).map((a) => a.close()));
    }
  },
};

// Alone: node bench/metrics-cost.js [--quick]
if (require.main === module) {
  const proc = require('./lib/proc');
  const { removeScratch } = require('./lib/apps');
  const quick = process.argv.includes('--quick') || process.argv.includes('-q');
  proc.installSignalCleanup();
  proc.onCleanup(async () => removeScratch());
  const ctx = { quick, log: (...a) => console.log('  ', ...a), note: (n) => console.log(`note: ${n}`) };
  console.log(`## metrics-cost — ${module.exports.title}${quick ? ' (--quick)' : ''}`);
  const t0 = Date.now();
  module.exports
    .run(ctx)
    .then(
      (out) => {
        for (const r of out) console.log(`  => ${r.name}: ${r.rows.map((x) => `${x.value}${x.unit ? ` ${x.unit}` : ''}`).join(' | ')}`);
        return 0;
      },
      (err) => {
        console.log(`  !! metrics-cost failed: ${err.stack || err.message}`);
        return 1;
      },
    )
    .then(async (code) => {
      await proc.runCleanups();
      console.log(`  (metrics-cost: ${((Date.now() - t0) / 1000).toFixed(0)} s)`);
      process.exitCode = code;
    });
}
