'use strict';
// Light fake agents speaking the real agent link (proto/fleet/v1/agent_link.proto),
// many of them in this one process, each on its own gRPC channel and so its
// own HTTP/2 connection ('grpc.use_local_subchannel_pool'), like real hosts.
// Each registers, sends a snapshot of N processes with realistic AppInfo,
// heartbeats every heartbeatIntervalMs the controller hands out, a delta of
// every app with new cpu/memory every 5 s (the real agent's sampling cycle:
// one batched sample per host, so one delta per host), optional log batches,
// and answers commands (list/describe with its apps, anything else with an
// empty response of the right type).
//
// Also here: a real `fleet controller` process for the benches to dial
// (temp --data, seeded operator and agent tokens), with its pid for /proc,
// and a "laptop" FLEET_HOME whose CLI context points at it.
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { spawn } = require('node:child_process');
const { randomUUID } = require('node:crypto');
const { ROOT, baseEnv } = require('./apps');
const { FLEET_BIN } = require('./fleet');
const { freePort, onCleanup, isAlive, isAborting, kill, run, sleep, waitFor } = require('./proc');

// The workspace packages, as built (dist/): required lazily so `--help` needs no build.
let protocolModule;
function protocol() {
  if (!protocolModule) protocolModule = require(path.join(ROOT, 'packages', 'protocol'));
  return protocolModule;
}
function grpc() {
  return require(require.resolve('@grpc/grpc-js', { paths: [path.join(ROOT, 'packages', 'protocol')] }));
}

// ---------------------------------------------------------------- controller

class Controller {
  /**
   * @param {{heartbeat?: string, env?: object, nodeArgs?: string[], args?: string[]}} opts
   *   env: extra env for the controller process; nodeArgs: node flags before the
   *   script (--cpu-prof, which Node 20 refuses in NODE_OPTIONS); args: more
   *   `fleet controller` flags (--nats …).
   */
  constructor(opts = {}) {
    this.opts = opts;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-bench-ctl-'));
    this.tokens = {
      operator: path.join(this.dir, 'operator.token'),
      agent: path.join(this.dir, 'agent.token'),
    };
    fs.writeFileSync(this.tokens.operator, `fleet_bench_operator_${randomUUID()}\n`, { mode: 0o600 });
    fs.writeFileSync(this.tokens.agent, `fleet_bench_agent_${randomUUID()}\n`, { mode: 0o600 });
    this.agentToken = fs.readFileSync(this.tokens.agent, 'utf8').trim();
    this.output = '';
    this.dispose = onCleanup(() => this.shutdown());
  }

  get address() {
    return `127.0.0.1:${this.port}`;
  }

  async start() {
    this.port = await freePort();
    const args = [
      ...(this.opts.nodeArgs || []),
      FLEET_BIN, 'controller',
      '--listen', this.address,
      '--data', path.join(this.dir, 'data'),
      '--heartbeat', this.opts.heartbeat || '5s',
      '--seed-token', `operator:${this.tokens.operator}`,
      '--seed-token', `agent:${this.tokens.agent}`,
      ...(this.opts.args || []),
    ];
    const child = spawn(process.execPath, args, {
      cwd: ROOT,
      env: baseEnv({ FLEET_HOME: path.join(this.dir, 'home'), ...(this.opts.env || {}) }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    this.pid = child.pid;
    const keep = (d) => {
      // The controller logs every host (dis)connection: keep the first and last of it only.
      this.output += d;
      if (this.output.length > 200_000) this.output = this.output.slice(0, 50_000) + '\n…\n' + this.output.slice(-100_000);
    };
    child.stdout.setEncoding('utf8').on('data', keep);
    child.stderr.setEncoding('utf8').on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    await waitFor(() => this.output.includes('listening on') || child.exitCode !== null || child.signalCode !== null, {
      message: 'the controller to listen',
      timeoutMs: 30_000,
    });
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`fleet controller exited:\n${this.output.trim()}`);
    return this;
  }

  /** SIGTERM (a clean stop: a --cpu-prof profile gets written), SIGKILL after 10 s. */
  async stop() {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const done = await Promise.race([this.exited, sleep(10_000).then(() => undefined)]);
    if (!done) {
      process.stderr.write(`[bench] controller ${child.pid} ignored SIGTERM for 10 s: SIGKILL\n`);
      kill(child.pid);
      await this.exited;
    }
  }

  async shutdown() {
    await this.stop().catch(() => undefined);
    if (this.pid && isAlive(this.pid)) kill(this.pid);
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** stop + forget the cleanup hook. */
  async close() {
    await this.dispose();
  }
}

/**
 * A "laptop": its own FLEET_HOME whose current context points at the
 * controller (operator token), for `fleet ls`, `fleet hosts`, `fleet start`, `fleet logs`.
 */
class Laptop {
  constructor(controller) {
    this.home = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-bench-laptop-'));
    this.env = baseEnv({ FLEET_HOME: this.home });
    this.controller = controller;
    this.dispose = onCleanup(() => fs.rmSync(this.home, { recursive: true, force: true }));
  }

  async init() {
    await this.must(['context', 'add', 'b', '--controller', this.controller.address, '--insecure', '--token-file', this.controller.tokens.operator, '--use']);
    return this;
  }

  cli(args, opts = {}) {
    if (isAborting()) return Promise.reject(new Error('interrupted'));
    return run(process.execPath, [FLEET_BIN, ...args], { env: this.env, cwd: ROOT, timeoutMs: opts.timeoutMs });
  }

  async must(args, opts) {
    const r = await this.cli(args, opts);
    if (r.code !== 0) throw new Error(`fleet ${args.join(' ')} exited ${r.code}:\n${(r.stderr || r.stdout).trim()}`);
    return r;
  }

  /** `fleet <args>` as a long-running child (logs -f): the caller reads its stdout. */
  spawn(args) {
    return spawn(process.execPath, [FLEET_BIN, ...args], { env: this.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  }

  close() {
    return this.dispose();
  }
}

// ---------------------------------------------------------------- app state

// Instance counts per app, cycled: fork apps of 1, cluster apps of 2 and 4.
const SHAPES = [
  { instances: 1, mode: 'fork' },
  { instances: 2, mode: 'cluster' },
  { instances: 1, mode: 'fork' },
  { instances: 4, mode: 'cluster' },
];
const APP_NAMES = ['api', 'web', 'worker', 'billing', 'mailer', 'search', 'auth', 'cron', 'images', 'gateway', 'events', 'export'];

/** App shapes totalling `processes` instances: [{name, instances, mode}]. */
function appShapes(processes) {
  const out = [];
  let left = processes;
  for (let i = 0; left > 0; i++) {
    const s = SHAPES[i % SHAPES.length];
    const n = Math.min(s.instances, left);
    const base = APP_NAMES[i % APP_NAMES.length];
    out.push({ name: i < APP_NAMES.length ? base : `${base}-${Math.floor(i / APP_NAMES.length)}`, instances: n, mode: n > 1 ? 'cluster' : s.mode });
    left -= n;
  }
  return out;
}

let nextPid = 20_000;

function makeApps(host, processes, now) {
  const { AppInfo, ExecMode, InstanceStatus } = protocol();
  const ON = InstanceStatus.INSTANCE_STATUS_ONLINE;
  const LAUNCHING = InstanceStatus.INSTANCE_STATUS_LAUNCHING;
  return appShapes(processes).map((shape, appId) => {
    const execMode = shape.mode === 'cluster' ? ExecMode.EXEC_MODE_CLUSTER : ExecMode.EXEC_MODE_FORK;
    const cwd = `/srv/${shape.name}/current`;
    const startedMs = now - 3_600_000 - Math.floor(Math.random() * 86_400_000);
    return AppInfo.fromPartial({
      appId,
      host,
      desired: 'online',
      runnerPid: nextPid++,
      runnerVersion: '0.1.0',
      hostEnv: { ZONE: 'bench-a' },
      spec: {
        name: shape.name,
        script: `${cwd}/dist/server.js`,
        args: [],
        cwd,
        interpreter: 'node',
        interpreterArgs: ['--max-old-space-size=512'],
        execMode,
        instances: shape.instances,
        env: {
          NODE_ENV: 'production',
          PORT: String(3000 + appId * 10),
          DATABASE_URL: `postgres://app:secret@db.internal:5432/${shape.name}`,
          REDIS_URL: 'redis://cache.internal:6379/0',
          LOG_LEVEL: 'info',
        },
        instanceVar: 'NODE_APP_INSTANCE',
        incrementVar: '',
        waitReady: false,
        listenTimeoutMs: 3000,
        killTimeoutMs: 1600,
        killSignal: 'SIGINT',
        restart: {
          autorestart: true,
          maxRestarts: 16,
          minUptimeMs: 1000,
          restartDelayMs: 0,
          expBackoffRestartDelayMs: 0,
          stopExitCodes: [],
          stableAfterMs: 30_000,
          maxMemoryBytes: 0,
          memoryCheckIntervalMs: 30_000,
          cronRestart: '',
        },
        log: {
          outFile: `/var/lib/fleet/logs/${shape.name}-out.log`,
          errorFile: `/var/lib/fleet/logs/${shape.name}-error.log`,
          dateFormat: '',
          merge: true,
          json: false,
          maxSizeBytes: 10 * 1024 * 1024,
          retain: 5,
          compress: false,
          disabled: false,
        },
        watch: { enabled: false, paths: [], ignore: [], debounceMs: 100 },
        source: `/srv/${shape.name}/current/ecosystem.config.js`,
      },
      instances: Array.from({ length: shape.instances }, (_, instance) => ({
        app: shape.name,
        appId,
        instance,
        pid: nextPid++,
        status: ON,
        cpuPercent: Math.round(Math.random() * 300) / 100,
        memoryBytes: 60_000_000 + Math.floor(Math.random() * 60_000_000),
        restarts: Math.floor(Math.random() * 3),
        unstableRestarts: 0,
        uptimeMs: 0,
        execMode,
        createdMs: startedMs - 100,
        startedMs,
        lastExitCode: 0,
        lastExitSignal: '',
        host,
        events: [
          { timeMs: startedMs - 100, from: InstanceStatus.INSTANCE_STATUS_UNSPECIFIED, to: LAUNCHING, reason: 'start' },
          { timeMs: startedMs, from: LAUNCHING, to: ON, reason: 'ready' },
        ],
      })),
    });
  });
}

/** A new cpu/memory sample for every instance (what a 5 s sampling cycle changes). */
function resample(apps) {
  for (const app of apps) {
    for (const i of app.instances) {
      i.cpuPercent = Math.round(Math.random() * 300) / 100;
      i.memoryBytes = Math.max(40_000_000, i.memoryBytes + Math.floor((Math.random() - 0.5) * 4_000_000));
    }
  }
}

// ---------------------------------------------------------------- one fake agent

class FakeAgent {
  /**
   * @param {object} o
   * @param {string} o.address controller host:port
   * @param {string} o.token agent token
   * @param {string} o.name host name
   * @param {number} o.processes instances on this host
   * @param {number} [o.logRate] log lines per second (all apps together), 0: none
   * @param {number} [o.deltaEveryMs] how often cpu/memory change (5000, the real sampling cycle)
   * @param {object} o.stats shared counters
   */
  constructor(o) {
    this.o = o;
    this.name = o.name;
    this.stats = o.stats;
    this.instanceId = randomUUID();
    this.apps = makeApps(o.name, o.processes, Date.now());
    this.timers = [];
    this.registeredAt = undefined;
    this.closed = false;
    this.logSeq = 0;
  }

  connect() {
    const { AgentLinkClient, LINK_PROTOCOL_VERSION } = protocol();
    const { credentials, Metadata } = grpc();
    this.client = new AgentLinkClient(this.o.address, credentials.createInsecure(), {
      // Its own HTTP/2 connection, as a separate host would have.
      'grpc.use_local_subchannel_pool': 1,
      // The real agent's keepalive (packages/agent/src/link/controller-link.ts).
      'grpc.keepalive_time_ms': 10_000,
      'grpc.keepalive_timeout_ms': 5_000,
      'grpc.keepalive_permit_without_calls': 1,
    });
    const md = new Metadata();
    md.set('authorization', `Bearer ${this.o.token}`);
    this.dialedAt = performance.now();
    const stream = this.client.connect(md);
    this.stream = stream;
    stream.on('data', (msg) => this.onMessage(msg));
    stream.on('error', (err) => this.onClosed(err));
    stream.on('end', () => this.onClosed());
    this.write({
      register: {
        name: this.name,
        labels: { role: 'bench', zone: 'a' },
        agentVersion: '0.1.0',
        protocolVersion: LINK_PROTOCOL_VERSION,
        os: `${os.type()} ${os.release()} ${os.arch()}`,
        cpus: 8,
        memoryTotalBytes: 16 * 2 ** 30,
        env: {},
        instanceId: this.instanceId,
        timeMs: Date.now(),
      },
    });
  }

  write(partial) {
    if (this.closed || !this.stream) return false;
    const { AgentMessage } = protocol();
    this.stats.messages++;
    return this.stream.write(AgentMessage.fromPartial(partial));
  }

  onMessage(msg) {
    if (msg.registered) {
      this.registeredAt = performance.now();
      this.stats.registered++;
      this.stats.registerMs.push(this.registeredAt - this.dialedAt);
      if (this.o.onRegistered) this.o.onRegistered(this);
      this.write({ snapshot: { apps: this.apps } });
      const hbEvery = Math.max(100, Number(msg.registered.heartbeatIntervalMs) || 5000);
      this.every(hbEvery, () => {
        this.stats.heartbeats++;
        this.write({ heartbeat: { timeMs: Date.now(), load1: Math.random() * 2, memoryFreeBytes: 8 * 2 ** 30 } });
      });
      // Each host samples on its own phase.
      const deltaEvery = this.o.deltaEveryMs || 5000;
      // (A host without apps has nothing to change: the real agent sends no empty delta.)
      if (this.apps.length > 0) {
        this.later(Math.random() * deltaEvery, () =>
          this.every(deltaEvery, () => {
            resample(this.apps);
            this.stats.deltas++;
            this.stats.deltaApps += this.apps.length;
            this.write({ delta: { changed: this.apps, removed: [] } });
          }),
        );
      }
      if (this.o.logRate > 0) this.startLogs();
    }
    if (msg.command) this.answer(msg.command);
  }

  /** Log lines at logRate per second, in a batch every 100 ms (the real agent gathers 5 ms bursts). */
  startLogs() {
    const { LogStream } = protocol();
    const tickMs = 100;
    const t0 = performance.now();
    let sent = 0;
    this.every(tickMs, () => {
      const due = Math.floor(((performance.now() - t0) / 1000) * this.o.logRate) - sent;
      if (due <= 0) return;
      const now = Date.now();
      const lines = new Array(due);
      for (let k = 0; k < due; k++) {
        const app = this.apps[(this.logSeq + k) % this.apps.length];
        lines[k] = {
          app: app.spec.name,
          instance: 0,
          stream: LogStream.LOG_STREAM_OUT,
          line: `${new Date(now).toISOString()} info request handled path=/api/v1/items/${this.logSeq + k} status=200 ms=${(k % 37) + 1}`,
          timeMs: now,
          host: this.name,
          dropped: 0,
        };
      }
      this.logSeq += due;
      sent += due;
      this.stats.logLines += due;
      this.write({ logs: { lines, dropped: 0 } });
    });
  }

  answer(cmd) {
    const { HOST_CALLS, CommandResult } = protocol();
    this.stats.commands++;
    const base = { id: cmd.id, response: Buffer.alloc(0), errorCode: '', errorMessage: '', errorHint: '' };
    const codec = HOST_CALLS[cmd.method];
    let result;
    if (!codec) {
      result = { ...base, errorCode: 'FAILED', errorMessage: `fake agent: no ${cmd.method}` };
    } else {
      const body = cmd.method === 'list' || cmd.method === 'describe' ? { apps: this.apps } : {};
      result = { ...base, response: Buffer.from(codec.response.encode(codec.response.fromPartial(body)).finish()) };
    }
    this.write({ result: CommandResult.fromPartial(result) });
  }

  onClosed(err) {
    if (this.closed) return;
    this.stats.lost++;
    if (this.o.onLost) this.o.onLost(this, err);
    this.stopTimers();
  }

  every(ms, fn) {
    const t = setInterval(fn, ms);
    this.timers.push(t);
    return t;
  }

  later(ms, fn) {
    const t = setTimeout(fn, ms);
    this.timers.push(t);
    return t;
  }

  stopTimers() {
    for (const t of this.timers) {
      clearInterval(t);
      clearTimeout(t);
    }
    this.timers = [];
  }

  close() {
    this.stopTimers();
    this.closed = true;
    try {
      if (this.stream) this.stream.end();
    } catch {
      // already gone
    }
    if (this.client) this.client.close();
  }
}

// ---------------------------------------------------------------- many of them

/**
 * Starts `count` fake agents against a controller, all dialling at once (as
 * after a controller restart). Resolves once every one is registered, with
 * {agents, stats, registerAllMs, close()}.
 */
async function startFakeAgents({ address, token, count, processes = 20, logRate = 0, deltaEveryMs = 5000, namePrefix = 'fake', timeoutMs = 120_000 }) {
  const stats = {
    registered: 0,
    lost: 0,
    messages: 0,
    heartbeats: 0,
    deltas: 0,
    deltaApps: 0,
    logLines: 0,
    commands: 0,
    registerMs: [],
    lostReasons: [],
  };
  const agents = [];
  let resolveAll;
  const allIn = new Promise((r) => (resolveAll = r));
  const t0 = performance.now();
  let lastAt = t0;
  for (let i = 0; i < count; i++) {
    agents.push(
      new FakeAgent({
        address,
        token,
        name: `${namePrefix}${String(i + 1).padStart(3, '0')}`,
        processes,
        logRate,
        deltaEveryMs,
        stats,
        onRegistered: () => {
          lastAt = performance.now();
          if (stats.registered === count) resolveAll();
        },
        onLost: (a, err) => {
          if (stats.lostReasons.length < 5) stats.lostReasons.push(`${a.name}: ${err ? err.message : 'stream ended'}`);
        },
      }),
    );
  }
  const dispose = onCleanup(() => {
    for (const a of agents) a.close();
  });
  const fleet = { agents, stats, close: () => dispose() };
  for (const a of agents) a.connect();
  let timer;
  const timedOut = new Promise((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`only ${stats.registered}/${count} fake agents registered in ${timeoutMs / 1000} s${stats.lostReasons.length ? `; lost: ${stats.lostReasons.join('; ')}` : ''}`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([allIn, timedOut]);
  } finally {
    clearTimeout(timer);
  }
  fleet.registerAllMs = lastAt - t0;
  return fleet;
}

/** BENCH_CPU_PROF=<dir>: node flags that profile the controller (Node 20 refuses --cpu-prof in NODE_OPTIONS). */
function profilingArgs(log) {
  if (!process.env.BENCH_CPU_PROF) return [];
  const dir = path.resolve(process.env.BENCH_CPU_PROF);
  fs.mkdirSync(dir, { recursive: true });
  log(`controller runs with --cpu-prof into ${dir} (written when it stops)`);
  return ['--cpu-prof', `--cpu-prof-dir=${dir}`];
}

module.exports = { Controller, Laptop, FakeAgent, startFakeAgents, appShapes, makeApps, profilingArgs };
