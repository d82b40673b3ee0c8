'use strict';
// Process control for the benches: spawning, waiting on conditions, reading
// /proc (private memory, CPU ticks, process trees) and cleanup that runs even
// on failure or Ctrl-C. Everything here speaks to loopback only.
const { spawn, execFileSync } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls fn until it returns a truthy value; throws after timeoutMs. */
async function waitFor(fn, { timeoutMs = 20_000, intervalMs = 50, message = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${message}${last ? `: ${last.message || last}` : ''}`);
    }
    await sleep(intervalMs);
  }
}

/** A port free on loopback right now (the caller binds it soon after). */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

async function freePorts(n) {
  const ports = new Set();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

/**
 * Runs a command to completion without blocking the event loop (load
 * generators in this process keep running meanwhile).
 * Resolves {code, stdout, stderr, ms}; never rejects on a non-zero exit.
 */
function run(cmd, args, { env, cwd, timeoutMs = 120_000, input } = {}) {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, { env: env || process.env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      stderr += `\n[bench] killed after ${timeoutMs} ms`;
    }, timeoutMs);
    child.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : -1), stdout, stderr, ms: performance.now() - t0 });
    });
    child.stdin.end(input);
  });
}

/**
 * A long-running child whose stdout and stderr are kept (the last ~100 KB),
 * for the messages of a process that dies: { child, pid, output(), alive(), exited }.
 */
function spawnKept(args, { env, cwd }) {
  const child = spawn(process.execPath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (d) => {
    output += d;
    if (output.length > 100_000) output = output.slice(-50_000);
  };
  child.stdout.setEncoding('utf8').on('data', keep);
  child.stderr.setEncoding('utf8').on('data', keep);
  return {
    child,
    pid: child.pid,
    output: () => output,
    alive: () => child.exitCode === null && child.signalCode === null,
    exited: new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal }))),
  };
}

function isAlive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
  }
}

function kill(pid, signal = 'SIGKILL') {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

function readProc(pid, file) {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return undefined;
  }
}

/** Private_Clean + Private_Dirty of a process, in bytes (undefined when gone). */
function privateBytes(pid) {
  const text = readProc(pid, 'smaps_rollup');
  if (!text) return undefined;
  let kb = 0;
  for (const line of text.split('\n')) {
    const m = /^Private_(?:Clean|Dirty):\s+(\d+) kB/.exec(line);
    if (m) kb += Number(m[1]);
  }
  return kb * 1024;
}

let clkTck;
function ticksPerSecond() {
  if (!clkTck) {
    try {
      clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clkTck = 100;
    }
  }
  return clkTck;
}

/** utime + stime of a process, in ms (undefined when gone). */
function cpuMs(pid) {
  const text = readProc(pid, 'stat');
  if (!text) return undefined;
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // fields[0] is field 3 (state): utime is field 14, stime field 15.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
}

/** Every process: {pid, ppid, cmd}. */
function listProcs() {
  const out = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProc(name, 'stat');
    if (!stat) continue;
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    const cmd = (readProc(name, 'cmdline') || '').replace(/\0/g, ' ').trim();
    out.push({ pid: Number(name), ppid, cmd });
  }
  return out;
}

function descendants(pid, procs = listProcs()) {
  const found = [];
  const queue = [pid];
  while (queue.length) {
    const p = queue.shift();
    for (const c of procs) {
      if (c.ppid === p) {
        found.push(c);
        queue.push(c.pid);
      }
    }
  }
  return found;
}

/** Processes whose environment holds `KEY=value` (the bench marks every app it starts). */
function procsWithEnv(entry) {
  const me = process.pid;
  const found = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === me) continue;
    let env;
    try {
      env = fs.readFileSync(`/proc/${name}/environ`, 'latin1');
    } catch {
      continue;
    }
    if (env.split('\0').includes(entry)) found.push(Number(name));
  }
  return found;
}

// ---- cleanup, even on failure or Ctrl-C ----
const cleanups = [];
let cleaning;

/** Registers an async cleanup; returns a function that runs it once and unregisters it. */
function onCleanup(fn) {
  let done = false;
  const once = async () => {
    if (done) return;
    done = true;
    const i = cleanups.indexOf(once);
    if (i >= 0) cleanups.splice(i, 1);
    await fn();
  };
  cleanups.push(once);
  return once;
}

async function runCleanups() {
  if (!cleaning) {
    cleaning = (async () => {
      while (cleanups.length) {
        const fn = cleanups.pop();
        try {
          await fn();
        } catch (err) {
          process.stderr.write(`[bench] cleanup failed: ${err.message}\n`);
        }
      }
    })();
  }
  await cleaning;
  cleaning = undefined;
}

let aborting = false;
/** True once Ctrl-C (or SIGTERM) started the cleanup: no new work may start then. */
function isAborting() {
  return aborting;
}

function installSignalCleanup() {
  let interrupted = false;
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
    process.on(sig, () => {
      if (interrupted) {
        process.stderr.write('[bench] second signal: exiting without cleanup\n');
        process.exit(130);
      }
      interrupted = true;
      aborting = true;
      process.stderr.write(`\n[bench] ${sig}: cleaning up (fleet kill, pm2 kill, plain primaries)…\n`);
      runCleanups().finally(() => process.exit(130));
    });
  }
}

module.exports = {
  spawnKept,
  sleep,
  waitFor,
  freePort,
  freePorts,
  run,
  isAlive,
  kill,
  privateBytes,
  cpuMs,
  listProcs,
  descendants,
  procsWithEnv,
  onCleanup,
  runCleanups,
  installSignalCleanup,
  isAborting,
};
