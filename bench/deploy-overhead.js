'use strict';
// Deploy orchestration overhead: a real `fleet controller`, 10 real `fleet
// agent --controller … --name webK --env PORT=<port>` processes on loopback
// (each its own FLEET_HOME, each host giving its app its own port through the
// host env), and a "laptop" FLEET_HOME whose CLI context points at the
// controller. A tiny cluster-mode HTTP app (2 instances; server.js and
// ecosystem.config.js generated into a scratch folder) is deployed to every
// host first; then, per host count N (3, 10) and batch size B (1 and N), a new
// version (a new artifact each time) is deployed with
//   fleet deploy api --hosts web1,…,webN --batch B --min-healthy-time 1ms --json
// from the app folder, under continuous keep-alive load on every target host
// (2 clients per host, each pausing 20 ms between requests, in a child process).
// --min-healthy-time 1ms: a host counts healthy from its first passing check
// (the first check comes right after its switch, then one per 500 ms); with no
// flag it would have to stay healthy 10 s.
//
// Per deploy: the wall time of the CLI process (spawn to exit); failed / total
// requests (floor: 0 failed); the critical path split from the deployment's
// steps (timeMs, the controller's clock = this machine's), which adds up to
// the wall time: CLI (process start, pack, upload, create), prepare (download +
// unpack on every host, in parallel), switch (per batch, until its slowest host
// switched), verify (switched -> healthy: health call(s) and the planner's
// tick), gaps between batches, tail (last healthy -> the CLI's exit).
// The app's own reload time comes from the app itself: each instance appends
// its process start (performance.timeOrigin), listening and exit times to a
// file, so "first new process start -> last old instance's exit" is the reload
// with no CLI or controller in it. Measured separately (2 × `fleet reload api
// --hosts web1` per round under the same load, interleaved with the deploys,
// median) for overhead = wall − batches × app reload; and inside each deploy
// per host, for wall − the app's own reloads on the critical path (per batch
// its slowest host), which no drift between the two measurements touches.
//
// Knobs (env): BENCH_DEPLOY_HOSTS ("3,10"), BENCH_DEPLOY_INSTANCES (2),
// BENCH_DEPLOY_CLIENTS (2 per host), BENCH_DEPLOY_GAP_MS (20),
// BENCH_DEPLOY_ROUNDS (5 deploys per case, medians; --quick: 1),
// BENCH_DEPLOY_DUMP=<file> (every deployment's JSON appended there),
// BENCH_CPU_PROF=<dir> (the controller runs with --cpu-prof).
//
// Also runs alone: `node bench/deploy-overhead.js [--quick]` (after `npm run build`).
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const http = require('node:http');
const { spawn, fork } = require('node:child_process');

// ---------------------------------------------------------------- load worker
// `node deploy-overhead.js --load-worker`: keep-alive load on several ports,
// steered over IPC ({ports, clients, gapMs} to start, 'stop' to end), so the
// bench's own work (spawning CLIs) never slows it.
if (require.main === module && process.argv[2] === '--load-worker') {
  loadWorker();
} else if (require.main === module) {
  standalone();
}

function loadWorker() {
  let stopped = false;
  let running = 0;
  const perPort = new Map();
  const agents = [];
  const start = ({ ports, clients, gapMs }) => {
    for (const port of ports) {
      const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
      agents.push(agent);
      const r = { port, ok: 0, failed: 0, errors: {} };
      perPort.set(port, r);
      for (let i = 0; i < clients; i++) loop(port, agent, r, gapMs);
    }
  };
  const loop = (port, agent, r, gapMs) => {
    if (stopped) return;
    running++;
    let settled = false;
    const done = (ok, key) => {
      if (settled) return;
      settled = true;
      running--;
      if (ok) {
        r.ok++;
        if (gapMs > 0) setTimeout(() => loop(port, agent, r, gapMs), gapMs);
        else setImmediate(() => loop(port, agent, r, gapMs));
      } else {
        r.failed++;
        r.errors[key] = (r.errors[key] || 0) + 1;
        setTimeout(() => loop(port, agent, r, gapMs), 1);
      }
    };
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      res.resume();
      res.on('end', () => (res.statusCode === 200 ? done(true) : done(false, `HTTP ${res.statusCode}`)));
      res.on('error', (err) => done(false, err.code || err.message));
    });
    req.on('error', (err) => done(false, err.code || err.message));
    req.setTimeout(10_000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
  };
  process.on('message', (msg) => {
    if (msg && msg.cmd === 'start') {
      start(msg);
      process.send({ started: true });
    } else if (msg && msg.cmd === 'stop') {
      stopped = true;
      const t0 = Date.now();
      const finish = () => {
        if (running > 0 && Date.now() - t0 < 15_000) return setTimeout(finish, 5);
        for (const a of agents) a.destroy();
        process.send({ result: [...perPort.values()], unfinished: running }, () => process.exit(0));
      };
      finish();
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------- the bench
// Required lazily: the load worker needs none of it.
function libs() {
  const { Controller, Laptop, profilingArgs } = require('./lib/fake-agent');
  const { FLEET_BIN } = require('./lib/fleet');
  const apps = require('./lib/apps');
  const proc = require('./lib/proc');
  const stats = require('./lib/stats');
  const { get, waitServing } = require('./lib/http');
  const { RealAgent } = require('./lib/real-agent');
  return { Controller, Laptop, profilingArgs, FLEET_BIN, get, waitServing, RealAgent, ...apps, ...proc, ...stats };
}

const FLOOR_INFO = { text: '— (reported)', ratio: '—', pass: null };
const APP = 'api';
const RELOADS_PER_ROUND = 2;

function envInt(name, dflt) {
  const raw = process.env[name];
  const v = Number(raw);
  return raw !== undefined && raw !== '' && Number.isFinite(v) && v >= 0 ? Math.floor(v) : dflt;
}

function envList(name, dflt) {
  const raw = process.env[name];
  if (!raw) return dflt;
  const xs = raw.split(',').map((s) => Number(s.trim())).filter((n) => Number.isInteger(n) && n > 0);
  return xs.length ? xs : dflt;
}

/**
 * The app folder: server.js answers "<version> <pid>"; version.json changes per
 * deploy. Each instance appends to TIMING_FILE (outside the folder, so not in
 * the artifact) when it started (performance.timeOrigin), when it listens, and
 * when it exits on the runner's stop signal: the app's own reload time, from
 * its side, with no CLI in it.
 */
class AppFolder {
  constructor(L, dir, timingFile, instances) {
    this.dir = dir;
    this.timingFile = timingFile;
    this.version = 0;
    const [markKey, markValue] = L.MARK.split('=');
    fs.writeFileSync(
      path.join(dir, 'server.js'),
      [
        "'use strict';",
        "const fs = require('node:fs');",
        "const http = require('node:http');",
        "const { version } = require('./version.json');",
        'const port = Number(process.env.PORT);',
        'const note = (what) => fs.appendFileSync(process.env.TIMING_FILE, `${what}\\n`);',
        'const body = `${version} ${process.pid}\\n`;',
        'const server = http.createServer((req, res) => res.end(body));',
        'server.listen(port, () => note(`start ${port} ${process.pid} ${performance.timeOrigin.toFixed(1)} ${Date.now()}`));',
        'for (const sig of [\'SIGINT\', \'SIGTERM\']) {',
        '  process.on(sig, () => {',
        '    note(`exit ${port} ${process.pid} ${Date.now()}`);',
        '    process.exit(0);',
        '  });',
        '}',
        '',
      ].join('\n'),
    );
    const config = {
      apps: [
        {
          name: APP,
          script: 'server.js',
          exec_mode: 'cluster',
          instances,
          env: { [markKey]: markValue, TIMING_FILE: timingFile },
        },
      ],
    };
    fs.writeFileSync(path.join(dir, 'ecosystem.config.js'), `module.exports = ${JSON.stringify(config, null, 2)};\n`);
    this.bump();
  }

  /** A new artifact (a new digest, so every deploy uploads). */
  bump() {
    this.version++;
    this.tag = `b${this.version}`;
    fs.writeFileSync(path.join(this.dir, 'version.json'), JSON.stringify({ version: this.tag }) + '\n');
    return this.tag;
  }

  /**
   * The app's own reload on the host with `port`, between `from` and `to`
   * (epoch ms): first replacement's process start -> last old instance's exit,
   * and each replacement's start -> listening.
   */
  reloadSpan(port, from, to) {
    const starts = [];
    const exits = [];
    for (const line of fs.readFileSync(this.timingFile, 'utf8').split('\n')) {
      const f = line.split(' ');
      if (Number(f[1]) !== port) continue;
      if (f[0] === 'start' && Number(f[3]) >= from && Number(f[3]) <= to) starts.push({ pid: Number(f[2]), origin: Number(f[3]), listening: Number(f[4]) });
      if (f[0] === 'exit' && Number(f[3]) >= from && Number(f[3]) <= to) exits.push({ pid: Number(f[2]), at: Number(f[3]) });
    }
    if (starts.length === 0 || exits.length === 0) return undefined;
    const first = Math.min(...starts.map((x) => x.origin));
    const last = Math.max(...exits.map((x) => x.at), ...starts.map((x) => x.listening));
    return { span: last - first, first, last, starts: starts.length, exits: exits.length, startToListen: starts.map((x) => x.listening - x.origin) };
  }
}

/** Keep-alive load on `ports` in a child process: stop() resolves per-port results. */
async function startLoad(ports, { clients, gapMs }) {
  const child = fork(__filename, ['--load-worker'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`load worker exited (${code})`)));
    child.send({ cmd: 'start', ports, clients, gapMs });
  });
  let stopping;
  return {
    stop() {
      if (!stopping) {
        stopping = new Promise((resolve, reject) => {
          child.on('message', (m) => m.result && resolve(m));
          child.once('exit', (code) => reject(new Error(`load worker exited (${code}) before reporting`)));
          child.send({ cmd: 'stop' });
        });
      }
      return stopping;
    },
  };
}

function addLoad(total, r) {
  total.ok += r.ok;
  total.failed += r.failed;
  for (const [k, v] of Object.entries(r.errors)) total.errors[k] = (total.errors[k] || 0) + v;
}

function sumLoad(res) {
  const total = { ok: 0, failed: 0, errors: {}, unfinished: res.unfinished || 0 };
  for (const r of res.result) {
    total.ok += r.ok;
    total.failed += r.failed;
    for (const [k, v] of Object.entries(r.errors)) total.errors[k] = (total.errors[k] || 0) + v;
  }
  return total;
}

const fmtErrors = (errors) =>
  Object.entries(errors)
    .map(([k, v]) => `${k}×${v}`)
    .join(', ');

/**
 * The critical path of one deployment, from its steps: every ms of the wall
 * time lands in exactly one phase.
 */
function criticalPath(d, t0, t1) {
  const at = (host, re) => {
    const s = d.steps.find((x) => x.host === host && re.test(x.message));
    return s ? Number(s.timeMs) : NaN;
  };
  const created = Number(d.createdMs);
  const ended = Number(d.endedMs);
  const hosts = d.hosts.map((h) => ({
    name: h.name,
    batch: Number(h.batch),
    prepared: at(h.name, /downloaded and unpacked|already on the host/),
    switching: at(h.name, /^switching to v/),
    switched: at(h.name, /^switched to v/),
    healthy: at(h.name, /^healthy on v/),
  }));
  const bad = hosts.find((h) => [h.prepared, h.switching, h.switched, h.healthy].some((x) => !Number.isFinite(x)));
  if (bad) throw new Error(`deployment ${d.id}: host ${bad.name} lacks a step (prepared/switching/switched/healthy): ${JSON.stringify(bad)}`);
  const batches = [...new Set(hosts.map((h) => h.batch))].sort((a, b) => a - b);
  const max = (xs) => Math.max(...xs);
  const min = (xs) => Math.min(...xs);
  const preparedAll = max(hosts.map((h) => h.prepared));
  const p = { cli: created - t0, prepare: preparedAll - created, switch: 0, verify: 0, gaps: 0, tail: 0 };
  let prev = preparedAll;
  const perBatch = [];
  for (const b of batches) {
    const hs = hosts.filter((h) => h.batch === b);
    const start = min(hs.map((h) => h.switching));
    const switched = max(hs.map((h) => h.switched));
    const healthy = max(hs.map((h) => h.healthy));
    p.gaps += start - prev;
    p.switch += switched - start;
    p.verify += healthy - switched;
    perBatch.push({ batch: b, switch: switched - start, verify: healthy - switched });
    prev = healthy;
  }
  p.tail = t1 - prev;
  return {
    phases: p,
    hosts,
    batches: batches.length,
    perBatch,
    switchPerHost: hosts.map((h) => h.switched - h.switching),
    verifyPerHost: hosts.map((h) => h.healthy - h.switched),
    preparePerHost: hosts.map((h) => h.prepared - created),
    finish: ended - prev,
    exit: t1 - ended,
  };
}

async function runBench(ctx) {
  const L = libs();
  const { Controller, Laptop, profilingArgs, FLEET_BIN, get, waitServing, run, sleep, waitFor, freePorts, scratch, median, num, list } = L;
  const sizes = envList('BENCH_DEPLOY_HOSTS', [3, 10]);
  const instances = envInt('BENCH_DEPLOY_INSTANCES', 2) || 2;
  const clients = envInt('BENCH_DEPLOY_CLIENTS', 2) || 1;
  const gapMs = envInt('BENCH_DEPLOY_GAP_MS', 20);
  const rounds = ctx.quick ? 1 : envInt('BENCH_DEPLOY_ROUNDS', 5) || 1;
  const maxN = Math.max(...sizes);
  const names = Array.from({ length: maxN }, (_, i) => `web${i + 1}`);
  const loadOpts = { clients, gapMs };

  const controller = await new Controller({ heartbeat: '5s', nodeArgs: profilingArgs(ctx.log) }).start();
  let laptop;
  const agents = [];
  try {
    laptop = await new Laptop(controller).init();
    const ports = await freePorts(maxN);
    const t0 = Date.now();
    for (let i = 0; i < maxN; i++) agents.push(new L.RealAgent(controller, names[i], ['--env', `PORT=${ports[i]}`]).start());
    await waitFor(
      async () => {
        const dead = agents.find((a) => !a.alive);
        if (dead) throw new Error(`fleet agent ${dead.name} exited:\n${dead.output.trim()}`);
        const r = await laptop.cli(['hosts', '--json']);
        if (r.code !== 0) return false;
        const ready = new Set(JSON.parse(r.stdout).filter((h) => h.status === 'ready').map((h) => h.name));
        return names.every((n) => ready.has(n));
      },
      { timeoutMs: 60_000, intervalMs: 250, message: `${maxN} hosts to be ready` },
    );
    ctx.log(`controller pid ${controller.pid}; ${maxN} agents ready in ${num(Date.now() - t0)} ms (ports ${ports[0]}…${ports[maxN - 1]} via --env PORT)`);

    const app = new AppFolder(L, scratch('deploy-overhead/app'), path.join(scratch('deploy-overhead'), 'timing.log'), instances);
    const deploy = async (hosts, batch) => {
      const args = [FLEET_BIN, 'deploy', APP, '--hosts', hosts.join(','), '--batch', String(batch), '--min-healthy-time', '1ms', '--json'];
      const startedAt = Date.now();
      const r = await run(process.execPath, args, { env: laptop.env, cwd: app.dir, timeoutMs: 180_000 });
      const endedAt = startedAt + r.ms;
      let d;
      try {
        d = JSON.parse(r.stdout).deployment;
      } catch {
        d = undefined;
      }
      if (r.code !== 0 || !d) {
        const why = d ? `${d.state}: ${d.reason}` : (r.stderr || r.stdout).trim();
        throw new Error(`fleet deploy ${APP} --hosts ${hosts.join(',')} --batch ${batch} exited ${r.code}: ${why}`);
      }
      if (process.env.BENCH_DEPLOY_DUMP) fs.appendFileSync(process.env.BENCH_DEPLOY_DUMP, `${JSON.stringify({ startedAt, endedAt, d })}\n`);
      return { r, d, startedAt, endedAt };
    };
    const versionsServed = async (ports) => {
      const out = [];
      for (const port of ports) {
        try {
          const res = await get(port, { timeoutMs: 3000 });
          out.push(res.body.split(' ')[0]);
        } catch (err) {
          out.push(`error:${err.code || err.message}`);
        }
      }
      return out;
    };

    // v1 everywhere at once: the starting point (a first deploy: nothing to reload yet).
    const first = await deploy(names, maxN);
    ctx.log(`first deploy (${app.tag}, nothing running yet) to ${maxN} hosts, batch ${maxN}: ${num(first.r.ms)} ms`);
    await waitServing(ports, { timeoutMs: 20_000 });

    const results = [];
    const summary = [];
    for (const n of sizes) {
      const hosts = names.slice(0, n);
      const hostPorts = ports.slice(0, n);
      const cases = [...new Set([1, n])].map((batch) => ({ batch, label: `N=${n}, batch ${batch}`, runs: [], load: { ok: 0, failed: 0, errors: {} } }));
      const reload = { spans: [], startToListen: [], cli: [], load: { ok: 0, failed: 0, errors: {} } };

      // Round by round, interleaved (the reload samples, then each batch size,
      // order alternating), so the drift of a shared machine hits all alike.
      for (let round = 0; round < rounds; round++) {
        // ---- the app's own reload time: `fleet reload api --hosts web1` under the
        // same load, timed by the app itself (first replacement's process start ->
        // last old instance's exit); the CLI's wall time alongside, for reference.
        const load = await startLoad(hostPorts, loadOpts);
        try {
          await sleep(500);
          for (let i = 0; i < RELOADS_PER_ROUND; i++) {
            const from = Date.now();
            const rl = await laptop.must(['reload', APP, '--hosts', 'web1'], { timeoutMs: 60_000 });
            await sleep(50);
            const sp = app.reloadSpan(ports[0], from, Date.now());
            if (!sp || sp.starts !== instances || sp.exits !== instances) {
              throw new Error(`fleet reload ${APP} --hosts web1: expected ${instances} new and ${instances} old instances in the app's timing, got ${JSON.stringify(sp)}`);
            }
            reload.spans.push(sp.span);
            reload.startToListen.push(...sp.startToListen);
            reload.cli.push(rl.ms);
            await sleep(200);
          }
        } finally {
          addLoad(reload.load, sumLoad(await load.stop()));
        }

        for (const c of round % 2 ? [...cases].reverse() : cases) {
          const tag = app.bump();
          const l = await startLoad(hostPorts, loadOpts);
          let dep;
          let res;
          try {
            await sleep(500);
            dep = await deploy(hosts, c.batch);
            await sleep(500);
          } finally {
            res = sumLoad(await l.stop());
          }
          const served = await versionsServed(hostPorts);
          const stale = served.map((v, i) => (v === tag ? undefined : `${hosts[i]}: ${v}`)).filter(Boolean);
          if (stale.length) throw new Error(`after deploying ${tag} (exit 0, ${dep.d.state}): not serving it: ${stale.join(', ')}`);
          if (res.unfinished) ctx.note(`deploy-overhead: ${res.unfinished} requests still in flight 15 s after the load stopped (${c.label})`);
          addLoad(c.load, res);

          const cp = criticalPath(dep.d, dep.startedAt, dep.endedAt);
          // The app's own reload inside each host's switch (its timing), and what the switch call adds around it.
          for (const h of cp.hosts) {
            const sp = app.reloadSpan(ports[names.indexOf(h.name)], h.switching, h.switched);
            if (!sp || sp.starts !== instances || sp.exits !== instances) {
              throw new Error(`${c.label}: expected ${instances} new and ${instances} old instances on ${h.name} during its switch, the app's timing says ${JSON.stringify(sp)}`);
            }
            h.appSpan = sp.span;
            h.before = sp.first - h.switching;
            h.after = h.switched - sp.last;
          }
          // On the critical path: per batch, its slowest host's own reload.
          const appOnPath = [...new Set(cp.hosts.map((h) => h.batch))].reduce((sum, b) => sum + Math.max(...cp.hosts.filter((h) => h.batch === b).map((h) => h.appSpan)), 0);
          const wall = dep.r.ms;
          const run = {
            wall,
            cp,
            appOnPath,
            appSpan: median(cp.hosts.map((h) => h.appSpan)),
            around: median(cp.hosts.map((h) => h.switched - h.switching - h.appSpan)),
            before: median(cp.hosts.map((h) => h.before)),
            after: median(cp.hosts.map((h) => h.after)),
          };
          c.runs.push(run);
          const ph = cp.phases;
          ctx.log(
            `${c.label} round ${round + 1} (v${dep.d.version}, ${cp.batches} batch${cp.batches > 1 ? 'es' : ''}): wall ${num(wall)} ms; wall − the app's own reloads on the critical path ${num(wall - appOnPath)} ms; ` +
              `requests ${res.failed}/${res.ok + res.failed} failed${res.failed ? ` (${fmtErrors(res.errors)})` : ''}`,
          );
          ctx.log(
            `   critical path: CLI start+pack+upload+create ${num(ph.cli)} | prepare (download+unpack, all hosts) ${num(ph.prepare)} | ` +
              `switch ${num(ph.switch)} | verify ${num(ph.verify)} | gaps ${num(ph.gaps)} | tail ${num(ph.tail)} (finish ${num(cp.finish)} + CLI exit ${num(cp.exit)}) ms`,
          );
          ctx.log(
            `   per host: prepare ${num(median(cp.preparePerHost))} (max ${num(Math.max(...cp.preparePerHost))}), switch ${num(median(cp.switchPerHost))} (max ${num(Math.max(...cp.switchPerHost))}) ` +
              `of which the app's own reload ${num(run.appSpan)} (before it ${num(run.before)}, after it ${num(run.after)}), switched→healthy ${num(median(cp.verifyPerHost))} (max ${num(Math.max(...cp.verifyPerHost))}) ms`,
          );
        }
      }

      const reloadMs = median(reload.spans);
      ctx.log(
        `N=${n}: app reload on web1 (first new process start -> last old exit) ${list(reload.spans)} -> median ${num(reloadMs)} ms ` +
          `(each new instance start -> listening: median ${num(median(reload.startToListen))} ms); \`fleet reload ${APP} --hosts web1\` wall ${list(reload.cli)} -> median ${num(median(reload.cli))} ms; ` +
          `requests meanwhile ${reload.load.failed}/${reload.load.ok + reload.load.failed} failed`,
      );
      if (reload.load.failed) ctx.note(`deploy-overhead: ${reload.load.failed} requests failed during plain \`fleet reload\` (N=${n}): ${fmtErrors(reload.load.errors)}`);

      for (const c of cases) {
        const med = (f) => median(c.runs.map(f));
        const batches = c.runs[0].cp.batches;
        const phases = {};
        for (const k of Object.keys(c.runs[0].cp.phases)) phases[k] = med((r) => r.cp.phases[k]);
        const row = {
          n,
          batch: c.batch,
          batches,
          wall: med((r) => r.wall),
          reloadMs,
          overhead: med((r) => r.wall - batches * reloadMs),
          inDeployOverhead: med((r) => r.wall - r.appOnPath),
          appSpan: med((r) => r.appSpan),
          around: med((r) => r.around),
          phases,
          finish: med((r) => r.cp.finish),
          load: c.load,
        };
        summary.push(row);
        // A passing check folded in within the same ms as the next planner step does not count with
        // min_healthy_time 1 ms: the host waits for the 200 ms tick, and a second check (500 ms after
        // the first) is then in flight, which the end of the deployment waits for.
        const slowVerify = c.runs.flatMap((r) => r.cp.verifyPerHost).filter((x) => x >= 150).length;
        const heldEnd = c.runs.filter((r) => r.cp.finish >= 100);
        if (slowVerify || heldEnd.length) {
          ctx.log(
            `${c.label}: ${slowVerify} of ${c.runs.length * n} hosts took ≥ 150 ms from switched to healthy (the planner's 200 ms tick); ` +
              `${heldEnd.length} of ${c.runs.length} deploys ended ≥ 100 ms after their last healthy host` +
              (heldEnd.length ? ` (${list(heldEnd.map((r) => r.cp.finish))} ms: waiting on a health check still in flight)` : ''),
          );
        }
        ctx.log(
          `${c.label}: wall ${list(c.runs.map((r) => r.wall))} -> median ${num(row.wall)} ms; overhead = wall − ${batches} × ${num(reloadMs)} ms = ${num(row.overhead)} ms; ` +
            `wall − the app's own reloads measured inside the deploy ${num(row.inDeployOverhead)} ms; requests ${c.load.failed}/${c.load.ok + c.load.failed} failed`,
        );
        const of = rounds > 1 ? ` (median of ${rounds})` : '';
        results.push(
          { name: `deploy wall time, ${c.label}${of}`, rows: [{ system: 'Fleet', value: row.wall, unit: 'ms' }], floor: FLOOR_INFO },
          { name: `deploy overhead = wall − ${batches} × ${num(reloadMs)} ms app reload, ${c.label}${of}`, rows: [{ system: 'Fleet', value: row.overhead, unit: 'ms' }], floor: FLOOR_INFO },
          { name: `deploy wall − the app's own reloads timed inside it, ${c.label}${of}`, rows: [{ system: 'Fleet', value: row.inDeployOverhead, unit: 'ms' }], floor: FLOOR_INFO },
          {
            name: `failed / total requests during the deploy, ${c.label}`,
            rows: [{ system: 'Fleet', value: `${c.load.failed} / ${c.load.ok + c.load.failed}` }],
            floor: { text: 'Fleet 0 failed', ratio: '—', pass: c.load.failed === 0 },
          },
        );
      }
    }

    // ---- the summary table (for the README), ms
    const ms = (x) => Math.round(x).toLocaleString('en-US');
    ctx.log('');
    ctx.log(`summary, ms${rounds > 1 ? ` (medians of ${rounds} deploys each)` : ''}; phases are the critical path (they add up to the wall time):`);
    ctx.log('| hosts | batch | wall | app reload × batches | overhead | wall − app reloads timed inside | CLI start+pack+upload | prepare | switch | of which per host: app / rest | verify | last healthy → exit, + gaps | failed / requests |');
    ctx.log('|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|');
    for (const r of summary) {
      const p = r.phases;
      ctx.log(
        `| ${r.n} | ${r.batch} | ${ms(r.wall)} | ${r.batches} × ${ms(r.reloadMs)} | ${ms(r.overhead)} | ${ms(r.inDeployOverhead)} | ` +
          `${ms(p.cli)} | ${ms(p.prepare)} | ${ms(p.switch)} | ${ms(r.appSpan)} / ${ms(r.around)} | ${ms(p.verify)} | ${ms(p.gaps + p.tail)} | ${r.load.failed} / ${r.load.ok + r.load.failed} |`,
      );
    }
    ctx.note(
      `deploy-overhead: ${instances}-instance cluster app, ${clients} keep-alive clients per host with ${gapMs} ms pauses; \`--min-healthy-time 1ms\`; ` +
        `app reload = median of ${RELOADS_PER_ROUND * rounds} \`fleet reload api --hosts web1\` (interleaved with the deploys), timed by the app (first new process start -> last old exit); first deploy to ${maxN} hosts ${num(first.r.ms)} ms`,
    );
    return results;
  } finally {
    // In parallel (each `fleet kill` stops its host's apps); the same promises a Ctrl-C cleanup awaits.
    await Promise.all(agents.map((a) => a.shutdown()));
    if (laptop) await laptop.close();
    await controller.close();
  }
}

module.exports = {
  title: 'deploy orchestration overhead: `fleet deploy` wall time to 3 and 10 real agents, batch 1 and all, minus the app reload, under keep-alive load',
  floorText: 'Fleet 0 failed',
  run: runBench,
};

/** `node bench/deploy-overhead.js [--quick]`: this bench alone, with the same output as bench/run.js. */
async function standalone() {
  const L = libs();
  const report = require('./lib/report');
  const quick = process.argv.includes('--quick') || process.argv.includes('-q');
  L.installSignalCleanup();
  L.onCleanup(async () => {
    for (const pid of L.procsWithEnv(L.MARK)) {
      process.stderr.write(`[bench] leftover app process ${pid}: SIGKILL\n`);
      L.kill(pid);
    }
    L.removeScratch();
  });
  const needed = ['packages/cli/dist/src/main.js', 'packages/agent/dist/src/daemon-main.js', 'packages/controller/dist/src/controller-main.js'];
  const missing = needed.filter((f) => !fs.existsSync(path.join(L.ROOT, f)));
  if (missing.length) {
    console.error(`not built (${missing.join(', ')}): run \`npm run build\` first`);
    process.exitCode = 1;
    return;
  }
  const notes = [];
  const t0 = Date.now();
  console.log(`# Fleet bench: deploy-overhead${quick ? ' (--quick)' : ''}`);
  console.log(`machine: ${report.machine()}`);
  let results = [];
  let code = 0;
  try {
    results = await runBench({ quick, log: (...a) => console.log('  ', ...a), note: (n) => notes.push(n) });
  } catch (err) {
    console.log(`  !! deploy-overhead failed: ${err.stack || err.message}`);
    code = 1;
  }
  await L.runCleanups();
  if (results.length) console.log(`\n${report.table(results)}`);
  if (notes.length) console.log(`\nNotes:\n${notes.map((n) => `- ${n}`).join('\n')}`);
  console.log(`(${((Date.now() - t0) / 1000).toFixed(0)} s in all)`);
  if (results.some((r) => r.floor && r.floor.pass === false)) code = 1;
  process.exitCode = code;
}
