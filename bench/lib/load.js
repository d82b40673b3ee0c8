'use strict';
// Load generators. Throughput: wrk when installed (the same binary and flags
// for every system), else autocannon from bench/.pm2-bench. Reload/agent-kill:
// a continuous keep-alive client in its own process (load-worker.js).
const { fork, execFileSync } = require('node:child_process');
const path = require('node:path');
const { run } = require('./proc');
const { ensurePackage } = require('./npm');

let generator;

/** 'wrk' or 'autocannon', chosen once per run (BENCH_LOAD=autocannon forces the fallback). */
function throughputGenerator() {
  if (!generator && process.env.BENCH_LOAD === 'autocannon') {
    generator = 'autocannon';
    ensurePackage('autocannon');
  }
  if (!generator) {
    try {
      execFileSync('wrk', ['--version'], { stdio: 'ignore' });
      generator = 'wrk';
    } catch (err) {
      // wrk --version exits 1 but prints its banner: present when the spawn worked
      generator = err.code === 'ENOENT' ? 'autocannon' : 'wrk';
    }
    if (generator === 'autocannon') ensurePackage('autocannon');
  }
  return generator;
}

function parseWrkRate(text) {
  const m = /Requests\/sec:\s+([\d.]+)/.exec(text);
  return m ? Number(m[1]) : NaN;
}

/**
 * Closed-loop keep-alive load for `seconds`; resolves {rps, errors}.
 * One generator thread and `connections` connections, for every system alike.
 */
async function measureThroughput(port, { seconds = 5, connections = 32 } = {}) {
  const url = `http://127.0.0.1:${port}/`;
  if (throughputGenerator() === 'wrk') {
    // setsid: its own session, so its own scheduling autogroup, whatever system it loads.
    const r = await run('setsid', ['-w', 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--latency', url], {
      timeoutMs: (seconds + 30) * 1000,
    });
    const rps = parseWrkRate(r.stdout);
    const errs = /Socket errors: (.*)|Non-2xx or 3xx responses: (\d+)/.exec(r.stdout);
    if (!Number.isFinite(rps)) throw new Error(`wrk failed (${r.code}): ${r.stdout}${r.stderr}`);
    return { rps, errors: errs ? errs[0] : '' };
  }
  const bin = path.join(ensurePackage('autocannon'), 'autocannon.js');
  const r = await run('setsid', ['-w', process.execPath, bin, '-c', String(connections), '-d', String(seconds), '-j', url], {
    timeoutMs: (seconds + 30) * 1000,
  });
  const out = JSON.parse(r.stdout);
  return { rps: out.requests.average, errors: out.errors || out.non2xx ? `errors ${out.errors}, non2xx ${out.non2xx}` : '' };
}

/** Starts continuous keep-alive load on a port; returns {stop(): Promise<{ok, failed, errors}>}. */
async function startKeepAliveLoad(port, concurrency = 16) {
  const child = fork(path.join(__dirname, 'load-worker.js'), [String(port), String(concurrency)], {
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  await new Promise((resolve, reject) => {
    child.once('message', resolve);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`load worker exited (${code})`)));
  });
  let stopping;
  return {
    pid: child.pid,
    stop() {
      if (!stopping) {
        stopping = new Promise((resolve, reject) => {
          child.on('message', (m) => {
            if (!m.snapshot) resolve(m);
          });
          child.once('exit', (code) => reject(new Error(`load worker exited (${code}) before reporting`)));
          child.send({ cmd: 'stop' });
        });
      }
      return stopping;
    },
    kill() {
      child.kill('SIGKILL');
    },
  };
}

module.exports = { throughputGenerator, measureThroughput, startKeepAliveLoad };
