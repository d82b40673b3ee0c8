// The agent's record of its apps: what the user asked for (desired state,
// persisted atomically on every change) and a link to each app's runner.
// On start it re-adopts the runners already running — same pids, same counters,
// no duplicates — and starts a runner for every app that should be online but
// has none (after a reboot).
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type ActionResponse,
  type AppInfo,
  type AppResult,
  AppSpec,
  BadInputError,
  type FleetPaths,
  FleetError,
  InstanceStatus,
  NotFoundError,
  type RunnerState,
  placeHostLogPath,
  readJsonFile,
  runnerSocketPath,
  safeFileName,
  writeFileAtomic,
} from '@fleet/protocol';
import { launchRunner } from './runner-launcher';
import { RunnerClient } from './runner-client';
import { allLogFiles, flushLogFiles, usesPerInstanceFiles } from '../logs/log-paths';

type Desired = 'online' | 'stopped';

interface AppRecord {
  id: number;
  spec: AppSpec;
  desired: Desired;
  client?: RunnerClient;
  /** Set while a runner is being started or connected, so two commands never spawn two. */
  connecting?: Promise<RunnerClient>;
}

interface PersistedApp {
  id: number;
  desired: Desired;
  spec: unknown;
}

interface PersistedState {
  version: 1;
  nextId: number;
  apps: PersistedApp[];
}

export interface RegistryOptions {
  paths: FleetPaths;
  /** Base env handed to runners (and so to apps, under their config env). */
  env: NodeJS.ProcessEnv;
  /** `fleet agent --env KEY=VAL`: set in every app on this host, over the app's own env. */
  hostEnv?: Record<string, string>;
  log: (msg: string) => void;
}

const RUNNER_CONNECT_TIMEOUT_MS = 10_000;

export class AppRegistry {
  private readonly apps = new Map<string, AppRecord>();
  private nextId = 0;
  private closing = false;

  constructor(private readonly opts: RegistryOptions) {}

  // ---- lifecycle ------------------------------------------------------------

  async restore(): Promise<void> {
    const { paths } = this.opts;
    fs.mkdirSync(paths.runDir, { recursive: true, mode: 0o700 });
    fs.mkdirSync(paths.logsDir, { recursive: true, mode: 0o700 });
    const saved = readJsonFile<PersistedState>(paths.stateFile);
    if (saved) {
      this.nextId = saved.nextId;
      for (const app of saved.apps) {
        const spec = AppSpec.fromJSON(app.spec);
        this.apps.set(spec.name, { id: app.id, spec, desired: app.desired });
      }
    }
    // Adopt every live runner first, including ones the state file does not know
    // (written by an agent that died before persisting): never a duplicate.
    const sockets = fs.readdirSync(paths.runDir).filter((f) => f.endsWith('.sock'));
    await Promise.all(
      sockets.map(async (file) => {
        const socketPath = path.join(paths.runDir, file);
        let client: RunnerClient;
        try {
          client = await RunnerClient.connect(socketPath, file.slice(0, -5));
        } catch {
          fs.rmSync(socketPath, { force: true }); // a dead runner's leftover
          return;
        }
        const state = client.lastState!;
        const spec = state.spec!;
        let record = this.apps.get(spec.name);
        if (!record) {
          record = { id: this.nextId++, spec, desired: state.desired === 'stopped' ? 'stopped' : 'online' };
          this.apps.set(spec.name, record);
        }
        // The state file holds the user's spec; the runner's carries the host env merged in.
        const wanted = this.runnerSpec(record);
        if (JSON.stringify(AppSpec.toJSON(wanted)) !== JSON.stringify(AppSpec.toJSON(spec))) {
          // The host env changed while no agent ran: later launches get the new one.
          await client.request({ update: { spec: wanted } }).catch(() => undefined);
        }
        this.attach(record, client);
        this.opts.log(`adopted runner of ${spec.name} (pid ${state.runnerPid}, ${state.instances.length} instances)`);
      }),
    );
    // After a reboot: every app that should run and has no runner gets one, started.
    await Promise.all(
      [...this.apps.values()]
        .filter((record) => !record.client && record.desired === 'online')
        .map(async (record) => {
          try {
            const client = await this.ensureRunner(record);
            this.opts.log(`starting ${record.spec.name} (desired online, no runner found)`);
            // Not awaited past the runner's answer: a slow app must not hold the daemon's start.
            client.request({ start: {} }).catch((err: Error) => this.opts.log(`cannot start ${record.spec.name}: ${err.message}`));
          } catch (err) {
            this.opts.log(`cannot start ${record.spec.name}: ${(err as Error).message}`);
          }
        }),
    );
    this.persist();
  }

  /** The agent is exiting: runners and apps keep running. */
  detach(): void {
    this.closing = true;
    for (const r of this.apps.values()) r.client?.close();
  }

  // ---- queries --------------------------------------------------------------

  list(): AppInfo[] {
    return [...this.apps.values()].sort((a, b) => a.id - b.id).map((r) => this.info(r));
  }

  allPids(): number[] {
    const pids: number[] = [];
    for (const r of this.apps.values()) {
      for (const i of r.client?.lastState?.instances ?? []) if (i.pid > 0) pids.push(i.pid);
    }
    return pids;
  }

  specOf(name: string): AppSpec | undefined {
    return this.apps.get(name)?.spec;
  }

  /** `name`, numeric id or `all` → records; unknown → NotFoundError with a hint. */
  resolve(target: string): AppRecord[] {
    const t = target.trim();
    if (t === '' || t === 'all') return [...this.apps.values()].sort((a, b) => a.id - b.id);
    const byName = this.apps.get(t);
    if (byName) return [byName];
    if (/^\d+$/.test(t)) {
      const byId = [...this.apps.values()].find((r) => r.id === Number(t));
      if (byId) return [byId];
    }
    const known = [...this.apps.keys()];
    throw new NotFoundError(`no app named or numbered "${t}"`, {
      hint: known.length ? `known apps: ${known.join(', ')} (see \`fleet ls\`)` : 'no apps are registered; start one with `fleet start app.js`',
    });
  }

  // ---- commands -------------------------------------------------------------

  async start(specs: AppSpec[]): Promise<AppResult[]> {
    const names = new Set<string>();
    for (const spec of specs) {
      if (names.has(spec.name)) throw new BadInputError(`app "${spec.name}" is given twice`, { hint: 'give each app a unique name' });
      names.add(spec.name);
    }
    return Promise.all(specs.map((spec) => this.startOne(this.placeLogs(spec))));
  }

  /** Default log paths compiled for "whichever host" land in this host's logs folder. */
  private placeLogs(spec: AppSpec): AppSpec {
    if (!spec.log) return spec;
    const dir = this.opts.paths.logsDir;
    return { ...spec, log: { ...spec.log, outFile: placeHostLogPath(spec.log.outFile, dir), errorFile: placeHostLogPath(spec.log.errorFile, dir) } };
  }

  private async startOne(spec: AppSpec): Promise<AppResult> {
    const existing = this.apps.get(spec.name);
    if (!existing) {
      const record: AppRecord = { id: this.nextId++, spec, desired: 'online' };
      this.apps.set(spec.name, record);
      this.persist();
      return this.act(record, 'started', async (client) => {
        await client.request({ start: {} });
      });
    }
    // PM2 restarts an app started again; Fleet reloads it onto the new config.
    const wasOnline = existing.desired === 'online' && existing.client !== undefined;
    existing.spec = spec;
    existing.desired = 'online';
    this.persist();
    return this.act(existing, wasOnline ? 'reloaded with its new config' : 'started', async (client) => {
      await client.request({ update: { spec: this.runnerSpec(existing) } });
      await client.request(wasOnline ? { reload: {} } : { start: {} });
    });
  }

  /**
   * Puts back the spec an app ran with, without touching its instances: after
   * a failed switch the old processes still serve, and their next restart (a
   * crash, a reboot) must start the old release, not the one that failed.
   */
  async restoreSpec(spec: AppSpec): Promise<void> {
    const record = this.apps.get(spec.name);
    if (!record) return;
    record.spec = spec;
    this.persist();
    await record.client?.request({ update: { spec: this.runnerSpec(record) } });
  }

  async stop(target: string): Promise<ActionResponse> {
    return this.each(target, 'stopped', async (r) => {
      r.desired = 'stopped';
      this.persist();
      if (!r.client) return;
      await r.client.request({ stop: { instances: [] } });
    });
  }

  async restart(target: string): Promise<ActionResponse> {
    return this.bringOnline(target, 'restarted', { restart: {} });
  }

  async reload(target: string): Promise<ActionResponse> {
    return this.bringOnline(target, 'reloaded', { reload: {} });
  }

  /** restart and reload: the app is wanted online, its runner (started if need be) does the rest. */
  private bringOnline(target: string, done: string, request: { restart: {} } | { reload: {} }): Promise<ActionResponse> {
    return this.each(target, done, async (r) => {
      r.desired = 'online';
      this.persist();
      const client = await this.ensureRunner(r);
      await client.request(request);
    });
  }

  async delete(target: string): Promise<ActionResponse> {
    return this.each(target, 'deleted', async (r) => {
      if (r.client) {
        const client = r.client;
        r.client = undefined;
        await client.request({ shutdown: {} });
        client.close();
      }
      this.apps.delete(r.spec.name);
      this.persist();
    });
  }

  async scale(target: string, count: string): Promise<ActionResponse> {
    const m = /^([+-]?)(\d+)$/.exec(count.trim());
    if (!m) throw new BadInputError(`invalid instance count "${count}"`, { hint: 'use a number (4) or a change (+2, -1)' });
    return this.each(target, 'scaled', async (r) => {
      const current = r.spec.instances;
      const n = Number(m[2]);
      const next = m[1] === '+' ? current + n : m[1] === '-' ? current - n : n;
      if (next < 0) {
        throw new BadInputError(`cannot scale ${r.spec.name} to ${next} instances`, { hint: 'the count must stay at 0 or more' });
      }
      r.spec = { ...r.spec, instances: next };
      this.persist();
      // A connected runner takes the count even while stopped (its spec is what the
      // next start launches); with no runner, a stopped app just keeps the new spec.
      if (!r.client && r.desired !== 'online') return;
      const client = await this.ensureRunner(r);
      await client.request({ scale: { instances: next } });
    });
  }

  /**
   * Empties the app's log files. Done here, from the spec, so it works whether
   * or not a runner is up; a runner writing meanwhile appends (O_APPEND) at the
   * new end, leaving no hole.
   */
  async flush(target: string): Promise<ActionResponse> {
    return this.each(target, 'flushed', async (r) => {
      if (!r.spec.log) return;
      const files = allLogFiles(r.spec.log, r.spec.instances, usesPerInstanceFiles(r.spec.execMode, r.spec.instances));
      await flushLogFiles(files.map((f) => f.path));
    });
  }

  save(): { path: string; apps: number } {
    const state = this.snapshot();
    writeFileAtomic(this.opts.paths.dumpFile, JSON.stringify(state, null, 2));
    return { path: this.opts.paths.dumpFile, apps: state.apps.length };
  }

  /** Brings back the apps of the last `fleet save` (stopped ones stay stopped). */
  async resurrect(): Promise<ActionResponse> {
    const dump = readJsonFile<PersistedState>(this.opts.paths.dumpFile);
    if (!dump) {
      throw new NotFoundError(`nothing to resurrect: ${this.opts.paths.dumpFile} does not exist`, {
        hint: 'run `fleet save` while your apps run, then `fleet resurrect` after a reboot',
      });
    }
    const results: AppResult[] = [];
    for (const app of dump.apps) {
      const spec = AppSpec.fromJSON(app.spec);
      const known = this.apps.get(spec.name);
      if (known) {
        // Known (from state.json, after a reboot): make sure what should run, runs.
        if (app.desired === 'online') {
          known.desired = 'online';
          this.persist();
          results.push(await this.act(known, 'resurrected', async (client) => void (await client.request({ start: {} }))));
        } else {
          results.push(this.result(known, true, 'already registered'));
        }
        continue;
      }
      const record: AppRecord = { id: this.nextId++, spec, desired: app.desired };
      this.apps.set(spec.name, record);
      this.persist();
      if (app.desired === 'stopped') {
        results.push(this.result(record, true, 'restored (stopped)'));
        continue;
      }
      results.push(await this.act(record, 'resurrected', async (client) => void (await client.request({ start: {} }))));
    }
    return { results };
  }

  /** `fleet kill`: stops every app and forgets them (the dump of `fleet save` stays). */
  async killAll(): Promise<number> {
    const records = [...this.apps.values()];
    await Promise.all(
      records.map(async (r) => {
        if (!r.client) return;
        const client = r.client;
        r.client = undefined;
        await client.request({ shutdown: {} }).catch(() => {});
        client.close();
      }),
    );
    this.apps.clear();
    this.persist();
    return records.length;
  }

  // ---- runners --------------------------------------------------------------

  /** What the runner runs: the app's spec with the host's env over its own. */
  private runnerSpec(record: AppRecord): AppSpec {
    const hostEnv = this.opts.hostEnv ?? {};
    if (Object.keys(hostEnv).length === 0) return record.spec;
    return { ...record.spec, env: { ...record.spec.env, ...hostEnv } };
  }

  private async ensureRunner(record: AppRecord): Promise<RunnerClient> {
    if (record.client?.isOpen) return record.client;
    if (record.connecting) return record.connecting;
    record.connecting = (async () => {
      const socketPath = runnerSocketPath(this.opts.paths.runDir, record.spec.name);
      try {
        // A runner may already be up (started by a previous agent): adopt it.
        const client = await RunnerClient.connect(socketPath, record.spec.name, 1000);
        await client.request({ update: { spec: this.runnerSpec(record) } });
        this.attach(record, client);
        return client;
      } catch {
        // none: start one below
      }
      launchRunner({ spec: this.runnerSpec(record), desired: 'stopped', runDir: this.opts.paths.runDir, env: this.opts.env });
      const client = await this.waitForRunner(socketPath, record.spec.name);
      this.attach(record, client);
      return client;
    })();
    try {
      return await record.connecting;
    } finally {
      record.connecting = undefined;
    }
  }

  private async waitForRunner(socketPath: string, app: string): Promise<RunnerClient> {
    const deadline = Date.now() + RUNNER_CONNECT_TIMEOUT_MS;
    for (;;) {
      try {
        return await RunnerClient.connect(socketPath, app, 1000);
      } catch (err) {
        if (Date.now() > deadline) {
          const log = path.join(this.opts.paths.runDir, `${safeFileName(app)}.runner.log`);
          throw new FleetError('FAILED', `the runner of ${app} did not come up`, {
            app,
            hint: `see ${log}`,
            cause: err,
          });
        }
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  }

  private attach(record: AppRecord, client: RunnerClient): void {
    record.client = client;
    client.on('close', () => {
      if (record.client !== client) return;
      record.client = undefined;
      if (this.closing || record.desired !== 'online' || !this.apps.has(record.spec.name)) return;
      // The runner died (killed by hand, OOM): its instances went with it. Respawn.
      this.opts.log(`runner of ${record.spec.name} went away; starting a new one`);
      setTimeout(() => {
        if (record.client || this.closing || !this.apps.has(record.spec.name)) return;
        this.ensureRunner(record)
          .then((c) => c.request({ start: {} }))
          .catch((err: Error) => this.opts.log(`cannot restart runner of ${record.spec.name}: ${err.message}`));
      }, 500);
    });
  }

  // ---- helpers --------------------------------------------------------------

  private async act(record: AppRecord, done: string, fn: (client: RunnerClient) => Promise<void>): Promise<AppResult> {
    try {
      const client = await this.ensureRunner(record);
      await fn(client);
      return this.outcome(record, done);
    } catch (err) {
      return this.failure(record, err);
    }
  }

  /** After a start, an app whose instances did not come online is a failure. */
  private outcome(record: AppRecord, done: string): AppResult {
    const instances = record.client?.lastState?.instances ?? [];
    // The runner answers once every launch has settled, online or failed: an instance
    // launching again by then failed and is already restarting (restart_delay 0).
    const bad = instances.filter(
      (i) =>
        i.status === InstanceStatus.INSTANCE_STATUS_ERRORED ||
        i.status === InstanceStatus.INSTANCE_STATUS_WAITING_RESTART ||
        (i.status === InstanceStatus.INSTANCE_STATUS_LAUNCHING && i.restarts > 0),
    );
    if (record.desired === 'online' && bad.length > 0) {
      const logHint = record.spec.log?.errorFile ? `see \`fleet logs ${record.spec.name} --err\`` : 'see `fleet describe`';
      return {
        ...this.result(record, false, ''),
        error: `${bad.length} of ${instances.length} instances of ${record.spec.name} did not come online (${bad
          .map((i) => `#${i.instance} ${i.events.at(-1)?.reason ?? i.status}`)
          .join('; ')})`,
        errorCode: 'FAILED',
        message: logHint,
      };
    }
    return this.result(record, true, done);
  }

  private async each(target: string, done: string, fn: (r: AppRecord) => Promise<void>): Promise<ActionResponse> {
    const records = this.resolve(target);
    const results = await Promise.all(
      records.map(async (r) => {
        try {
          await fn(r);
          return this.result(r, true, done);
        } catch (err) {
          return this.failure(r, err);
        }
      }),
    );
    return { results };
  }

  private result(r: AppRecord, ok: boolean, message: string): AppResult {
    return { app: r.spec.name, appId: r.id, ok, error: '', errorCode: '', message, host: '' };
  }

  private failure(r: AppRecord, err: unknown): AppResult {
    const e = err as Error;
    const code = err instanceof FleetError ? err.code : 'FAILED';
    const hint = err instanceof FleetError && err.hint ? err.hint : '';
    return { app: r.spec.name, appId: r.id, ok: false, error: e.message, errorCode: code, message: hint, host: '' };
  }

  private info(r: AppRecord): AppInfo {
    const state: RunnerState | undefined = r.client?.lastState;
    // Uptime from the start time, not from the runner's last push (which may be old).
    const now = Date.now();
    const instances = (state?.instances ?? []).map((i) => ({
      ...i,
      appId: r.id,
      uptimeMs: i.status === InstanceStatus.INSTANCE_STATUS_ONLINE && i.startedMs > 0 ? now - i.startedMs : 0,
    }));
    return {
      appId: r.id,
      spec: r.spec,
      desired: r.desired,
      instances,
      runnerPid: state?.runnerPid ?? 0,
      runnerVersion: state?.runnerVersion ?? '',
      reloading: state?.reloading ?? false,
      metrics: state?.metrics ?? [],
      host: '',
      hostEnv: {},
    };
  }

  private snapshot(): PersistedState {
    return {
      version: 1,
      nextId: this.nextId,
      apps: [...this.apps.values()]
        .sort((a, b) => a.id - b.id)
        .map((r) => ({ id: r.id, desired: r.desired, spec: AppSpec.toJSON(r.spec) })),
    };
  }

  private persist(): void {
    writeFileAtomic(this.opts.paths.stateFile, JSON.stringify(this.snapshot(), null, 2));
  }
}
