'use strict';
// Log throughput and end-to-end latency through NATS vs through gRPC, same
// machine, same pipeline otherwise: a real `fleet controller`, one real
// `fleet agent --controller … --name h1` (its own FLEET_HOME), the app
// apps/log-clock.js ("<Date.now()> <seq>" at RATE lines/s) started through the
// controller, and `fleet logs log-clock -f --lines 0 --json` read here.
//   gRPC: agent → its link to the controller → `fleet logs -f`
//   NATS: agent → nats-server (fleet.<cluster>.logs.h1.log-clock, acked by the
//         controller's queue-group member) → the controller's plain
//         subscription for the follower → `fleet logs -f`
// Per mode and offered rate: lines/s received, latency (receive − stamp)
// p50/p99/max over the window after a warm-up, missing/duplicate seq up to the
// last line in the app's file, and the CPU of controller, agent (and
// nats-server). Reported figures, no floor. Needs nats-server (apt-get install
// -y nats-server, or NATS_SERVER_BIN); without it the NATS rows say so.
//
// Knobs (env): BENCH_NATS_RATES (10000,40000 lines/s), BENCH_NATS_WINDOW_MS
// (15000; --quick 6000).
const os = require('node:os');
const { spawn, spawnSync } = require('node:child_process');
const { Controller, Laptop } = require('./lib/fake-agent');
const { RealAgent } = require('./lib/real-agent');
const { APP, logClockConfig, waitHostReady, LogReader, checkSeq } = require('./lib/log-clock');
const { cpuMs, sleep, waitFor, onCleanup, kill, freePort } = require('./lib/proc');
const { num, quantile } = require('./lib/stats');

const FLOOR = { text: '— (reported)', ratio: '—', pass: null };
const WARMUP_MS = 3000;

function natsBinary() {
  if (process.env.NATS_SERVER_BIN) return process.env.NATS_SERVER_BIN;
  const r = spawnSync('sh', ['-c', 'command -v nats-server || ls /usr/sbin/nats-server 2>/dev/null | head -1'], { encoding: 'utf8' });
  return r.stdout.trim().split('\n')[0] || undefined;
}

/** nats-server on loopback and a free port; stopped by the cleanup too. */
async function startNats(bin) {
  const port = await freePort();
  const child = spawn(bin, ['-a', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (d) => (output += d));
  child.stderr.setEncoding('utf8').on('data', (d) => (output += d));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await waitFor(() => /Server is ready/.test(output) || child.exitCode !== null, { timeoutMs: 10_000, message: 'nats-server to be ready' });
  if (child.exitCode !== null) throw new Error(`nats-server exited ${child.exitCode}: ${output.trim()}`);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(5000).then(() => kill(child.pid))]);
    }
  };
  const dispose = onCleanup(stop);
  return { url: `nats://127.0.0.1:${port}`, pid: child.pid, close: () => dispose() };
}

async function measure(ctx, { mode, rate, nats, windowMs }) {
  const natsArgs = mode === 'NATS' ? ['--nats', nats.url, '--nats-cluster', `bench${process.pid}`] : [];
  const controller = await new Controller({ heartbeat: '5s', args: natsArgs }).start();
  let agent;
  let laptop;
  let reader;
  try {
    laptop = await new Laptop(controller).init();
    agent = new RealAgent(controller, 'h1', natsArgs).start();
    await waitHostReady(laptop, agent);
    if (mode === 'NATS') {
      await waitFor(() => /connected to NATS/.test(agent.output) && /taking fleet\./.test(controller.output), { timeoutMs: 15_000, message: 'agent and controller on NATS' });
    }
    const { file: eco, outFile } = logClockConfig(`nats-logs-${mode}-${rate}`, rate);
    await laptop.must(['start', eco, '--hosts', 'h1'], { timeoutMs: 120_000 });
    reader = new LogReader(laptop);
    await waitFor(() => reader.seq.length > 0 || reader.child.exitCode !== null, { timeoutMs: 15_000, message: 'the first line through fleet logs -f' });
    if (reader.child.exitCode !== null) throw new Error(`fleet logs -f exited: ${reader.stderr.trim()}`);
    await sleep(WARMUP_MS);
    const pids = { controller: controller.pid, agent: agent.pid, ...(mode === 'NATS' ? { 'nats-server': nats.pid } : {}) };
    const cpu0 = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, cpuMs(pid)]));
    const from = reader.seq.length;
    const tFrom = Date.now();
    await sleep(windowMs);
    const to = reader.seq.length;
    const wallMs = Date.now() - tFrom;
    const cpu = Object.fromEntries(Object.entries(pids).map(([k, pid]) => [k, ((cpuMs(pid) - cpu0[k]) / wallMs) * 100]));

    await laptop.cli(['delete', APP], { timeoutMs: 60_000 });
    await sleep(2000);
    await reader.close();

    const lat = [];
    for (let i = from; i < to; i++) lat.push(reader.recvMs[i] - reader.appMs[i]);
    lat.sort((a, b) => a - b);
    const { missing, dup, expected } = checkSeq(reader.seq, outFile);
    const r = {
      linesPerSec: ((to - from) / wallMs) * 1000,
      p50: quantile(lat, 0.5),
      p99: quantile(lat, 0.99),
      max: lat[lat.length - 1],
      missing,
      dup,
      expected,
      cpu,
    };
    ctx.log(
      `${mode} at ${num(rate)} lines/s: ${num(r.linesPerSec)} lines/s received; latency p50 ${num(r.p50)} ms, p99 ${num(r.p99)} ms, max ${num(r.max)} ms; ` +
        `missing ${missing}, duplicates ${dup} of ${r.expected}; CPU ${Object.entries(cpu).map(([k, v]) => `${k} ${num(v)}%`).join(', ')}`,
    );
    if (reader.notices.length) ctx.log(`  other lines: ${reader.notices.join(' | ')}`);
    return r;
  } finally {
    if (reader) await reader.close();
    if (agent) await agent.shutdown();
    if (laptop) await laptop.close();
    await controller.close();
  }
}

module.exports = {
  title: 'log throughput and latency through NATS vs through gRPC: app → agent → controller → `fleet logs -f`',
  floorText: FLOOR.text,
  async run(ctx) {
    const rates = (process.env.BENCH_NATS_RATES || '10000,40000').split(',').map(Number).filter((n) => n > 0);
    const windowMs = Number(process.env.BENCH_NATS_WINDOW_MS) || (ctx.quick ? 6000 : 15_000);
    const bin = natsBinary();
    if (!bin) ctx.note('nats-logs: nats-server not found (apt-get install -y nats-server): NATS rows skipped');
    const nats = bin ? await startNats(bin) : undefined;
    ctx.log(`machine: ${os.cpus().length} cores; nats-server ${bin ? spawnSync(bin, ['--version'], { encoding: 'utf8' }).stdout.trim() : 'absent'}`);
    const results = [];
    try {
      for (const rate of rates) {
        for (const mode of ['gRPC', 'NATS']) {
          if (mode === 'NATS' && !nats) continue;
          results.push({ mode, rate, ...(await measure(ctx, { mode, rate, nats, windowMs })) });
        }
      }
    } finally {
      if (nats) await nats.close();
    }
    // One row per mode (the table's column is Fleet's); a NATS row's ratio is NATS ÷ gRPC.
    const out = [];
    for (const rate of rates) {
      const label = `${num(rate)} lines/s offered`;
      const grpc = results.find((r) => r.rate === rate && r.mode === 'gRPC');
      const metrics = [
        ['lines/s received through `fleet logs -f`', (r) => r.linesPerSec, 'lines/s'],
        ['log latency p50', (r) => r.p50, 'ms'],
        ['log latency p99', (r) => r.p99, 'ms'],
        ['log lines missing / duplicated', (r) => `${r.missing} / ${r.dup} of ${r.expected}`],
        ['CPU % of a core: controller / agent / nats-server', (r) => Object.values(r.cpu).map((v) => num(v)).join(' / ')],
      ];
      for (const [what, pick, unit] of metrics) {
        for (const r of results.filter((x) => x.rate === rate)) {
          const value = pick(r);
          const ratio = r.mode === 'NATS' && grpc && typeof value === 'number' ? value / pick(grpc) : '—';
          out.push({ name: `${what}, ${r.mode}, ${label}`, rows: [{ system: 'Fleet', value, unit }], floor: { ...FLOOR, ratio } });
        }
      }
    }
    return out;
  },
};
