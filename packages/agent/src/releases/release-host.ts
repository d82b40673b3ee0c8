// A host's side of a deployment: fetch and unpack a release (verified), run
// its install, build and release commands, switch the app onto it with the
// zero-downtime reload, and report its health. Every call is idempotent, so a
// controller that restarts mid-deployment can make it again.
import * as fs from 'node:fs';
import * as path from 'node:path';
import {
  type ActivateReleaseRequest,
  type ActivateReleaseResponse,
  AppSpec,
  BadInputError,
  FleetError,
  InstanceStatus,
  NotFoundError,
  placeReleaseSpec,
  type PrepareReleaseRequest,
  type PrepareReleaseResponse,
  readJsonFile,
  type ArtifactRef,
  type ReleaseCommandRequest,
  type ReleaseCommandResponse,
  type ReleaseHealthRequest,
  type ReleaseHealthResponse,
  withDefaults,
  writeFileAtomic,
} from '@fleet/protocol';
import type { AppRegistry } from '../daemon/app-registry';
import { runReleaseCommand } from './release-command';
import { ReleaseStore } from './release-store';
import { sha256File, unpackArtifact } from './unpack-artifact';

/** Puts the artifact with this digest into `file` (from the controller, or the local store). */
export type ArtifactFetcher = (ref: ArtifactRef, file: string) => Promise<void>;

export interface ReleaseHostDeps {
  registry: AppRegistry;
  appsRoot: string;
  hostEnv: Record<string, string>;
  fetch: ArtifactFetcher;
  log: (msg: string) => void;
}

export interface ReleaseHost {
  prepareRelease(req: PrepareReleaseRequest): Promise<PrepareReleaseResponse>;
  releaseCommand(req: ReleaseCommandRequest): Promise<ReleaseCommandResponse>;
  activateRelease(req: ActivateReleaseRequest): Promise<ActivateReleaseResponse>;
  releaseHealth(req: ReleaseHealthRequest): Promise<ReleaseHealthResponse>;
}

export function createReleaseHost(deps: ReleaseHostDeps): ReleaseHost {
  const { registry, hostEnv, log } = deps;
  const store = new ReleaseStore(deps.appsRoot);
  /** Prepares in progress, by app@version: a repeated call joins the first. */
  const preparing = new Map<string, Promise<PrepareReleaseResponse>>();
  /** Release commands in progress, by app@version. */
  const commands = new Map<string, Promise<ReleaseCommandResponse>>();
  /** The switch in progress per app; the next one waits for it. */
  const switching = new Map<string, Promise<ActivateReleaseResponse>>();
  /** The spec each prepared release runs with, for its commands' env. */
  const specs = new Map<string, AppSpec>();
  const envOf = (spec: AppSpec | undefined): NodeJS.ProcessEnv => ({ ...process.env, ...(spec?.env ?? {}), ...hostEnv });
  const handSpecFile = (app: string): string => path.join(store.appDir(app), 'spec-before-releases.json');
  const running = (app: string): number => registry.specOf(app)?.release ?? 0;

  const prepare = async (req: PrepareReleaseRequest): Promise<PrepareReleaseResponse> => {
    const release = req.release;
    if (!release?.spec) throw new BadInputError('the prepare request carries no release', { hint: 'deploy with the fleet CLI' });
    const { app, version, digest } = release;
    const started = Date.now();
    const s = withDefaults(req.strategy);
    store.ensureAppDirs(app);
    removeStaleDownloads(store.appDir(app));
    const dir = store.releaseDir(app, version);
    const spec = placeReleaseSpec(release.spec, dir);
    specs.set(`${app}@${version}`, spec);
    if (store.isComplete(app, version, digest)) {
      return { releaseDir: dir, downloaded: false, durationMs: Date.now() - started, runningVersion: running(app) };
    }
    if (store.isComplete(app, version) && (store.current(app) === version || running(app) === version)) {
      // Same number, other bytes, and it is what runs: another controller (or a lost record) numbered it.
      throw new FleetError('CONFLICT', `${app} v${version} on this host holds another artifact than the one deployed, and it is running`, {
        app,
        hint: 'this host was deployed to by another controller or from local mode; deploy through the controller that manages it',
      });
    }
    store.remove(app, version); // a half-prepared leftover of an earlier attempt
    const download = path.join(store.appDir(app), `.download-${digest.slice(0, 16)}.tar.gz`);
    try {
      await deps.fetch({ digest, sizeBytes: release.sizeBytes }, download);
      const actual = await sha256File(download);
      if (actual !== digest) {
        throw new BadInputError(`the downloaded artifact of ${app} v${version} has sha256 ${actual.slice(0, 12)}…, not ${digest.slice(0, 12)}…`, {
          hint: 'nothing was unpacked; deploy again (the artifact was damaged on the controller or in transit)',
        });
      }
      await unpackArtifact(download, dir);
    } finally {
      fs.rmSync(download, { force: true });
    }
    try {
      checkEntry(spec, dir, app, version);
      store.linkShared(app, version);
      for (const [what, command] of [['install', s.installCommand], ['build', s.buildCommand]] as const) {
        if (!command) continue;
        log(`${app} v${version}: ${what}: ${command}`);
        const res = await runReleaseCommand(command, { cwd: dir, env: envOf(spec), timeoutMs: s.commandTimeoutMs });
        if (res.exitCode !== 0) {
          throw new FleetError('FAILED', `the ${what} command \`${command}\` ${res.timedOut ? `did not finish within ${s.commandTimeoutMs} ms` : `exited with code ${res.exitCode}`}${tail(res.output)}`, {
            app,
            hint: 'fix it and deploy again; nothing was switched',
          });
        }
      }
      // Complete only now: an agent dying mid-install leaves a folder the next prepare redoes.
      store.markComplete(app, version, digest);
    } catch (err) {
      store.remove(app, version);
      throw err;
    }
    log(`${app} v${version} prepared in ${dir}`);
    return { releaseDir: dir, downloaded: true, durationMs: Date.now() - started, runningVersion: running(app) };
  };

  return {
    prepareRelease: (req) => {
      const key = `${req.release?.app}@${req.release?.version}`;
      const inFlight = preparing.get(key);
      if (inFlight) return inFlight;
      const p = prepare(req).finally(() => preparing.delete(key));
      preparing.set(key, p);
      return p;
    },

    releaseCommand: (req) => {
      // Runs once per release: asked again (a controller restarted meanwhile), it joins the run in
      // progress or answers with the recorded result — migrations must never run twice at once.
      const key = `${req.app}@${req.version}`;
      const inFlight = commands.get(key);
      if (inFlight) return inFlight;
      const p = releaseCommandOnce(req).finally(() => commands.delete(key));
      commands.set(key, p);
      return p;
    },

    activateRelease: (req) => {
      // One switch per app at a time: a controller that restarted mid-switch asks again, and that
      // call must wait for the first (then find the app already on the release), not race its reload.
      const app = req.release?.app ?? '';
      const next = (switching.get(app) ?? Promise.resolve()).catch(() => undefined).then(() => activate(req));
      switching.set(app, next);
      return next.finally(() => {
        if (switching.get(app) === next) switching.delete(app);
      });
    },

    releaseHealth: async (req) => {
      const info = registry.list().find((a) => a.spec?.name === req.app);
      if (!info?.spec) return { instances: 0, readyOnRelease: 0, restarts: 0, problem: `${req.app} is not on this host`, fatal: true };
      const restarts = info.instances.reduce((n, i) => n + i.restarts, 0);
      const want = info.spec.instances;
      const ready = info.instances.filter((i) => i.status === InstanceStatus.INSTANCE_STATUS_ONLINE && i.release === req.version).length;
      const errored = info.instances.find((i) => i.status === InstanceStatus.INSTANCE_STATUS_ERRORED);
      const base = { instances: want, readyOnRelease: ready, restarts };
      if (errored) return { ...base, problem: `instance #${errored.instance} errored: ${errored.events.at(-1)?.reason ?? 'crashed'}`, fatal: true };
      if (ready < want) return { ...base, problem: `${ready}/${want} instances ready on v${req.version}`, fatal: false };
      if (req.healthUrl) {
        const problem = await httpProblem(expand(req.healthUrl, { ...info.spec.env, ...hostEnv }), req.timeoutMs || 2000);
        if (problem) return { ...base, problem, fatal: false };
      }
      return { ...base, problem: '', fatal: false };
    },
  };

  async function releaseCommandOnce(req: ReleaseCommandRequest): Promise<ReleaseCommandResponse> {
    const dir = store.releaseDir(req.app, req.version);
    if (!store.isComplete(req.app, req.version)) throw new NotFoundError(`${req.app} v${req.version} is not prepared on this host`);
    const record = path.join(store.appDir(req.app), `release-command-v${req.version}.json`);
    const done = readJsonFile<ReleaseCommandResponse>(record);
    if (done) return done;
    const spec = specs.get(`${req.app}@${req.version}`) ?? registry.specOf(req.app);
    log(`${req.app} v${req.version}: release command: ${req.command}`);
    const res = await runReleaseCommand(req.command, { cwd: dir, env: envOf(spec), timeoutMs: req.timeoutMs || 10 * 60_000 });
    const answer = { exitCode: res.timedOut && res.exitCode === 0 ? 124 : res.exitCode, output: res.output };
    writeFileAtomic(record, JSON.stringify(answer));
    return answer;
  }

  async function activate(req: ActivateReleaseRequest): Promise<ActivateReleaseResponse> {
    const release = req.release;
    if (!release) throw new BadInputError('the activate request carries no release');
    const { app, version } = release;
    if (version === 0) return restoreHandSpec(app);
    if (!store.isComplete(app, version) || !release.spec) {
      throw new NotFoundError(`${app} v${version} is not prepared on this host`, { hint: 'the controller prepares it first; deploy again' });
    }
    const spec = placeReleaseSpec(release.spec, store.releaseDir(app, version));
    const before = registry.specOf(app);
    if (before && before.release === 0) {
      // The app ran from a hand-made spec: keep it, so rolling back the first release brings it back.
      writeFileAtomic(handSpecFile(app), JSON.stringify(AppSpec.toJSON(before)));
    }
    const previous = store.current(app);
    const info = registry.list().find((a) => a.spec?.name === app);
    const settled = info && before?.release === version && info.instances.length === spec.instances && info.instances.every((i) => i.status === InstanceStatus.INSTANCE_STATUS_ONLINE && i.release === version);
    let message = `already on v${version}`;
    if (!settled) {
      const [result] = await registry.start([spec]);
      if (!result.ok) {
        // The old instances keep serving; their next restart must start the old release too.
        if (before) await registry.restoreSpec(before).catch((err: Error) => log(`${app}: cannot restore its spec: ${err.message}`));
        throw new FleetError((result.errorCode || 'FAILED') as 'FAILED', result.error || `switching ${app} to v${version} failed`, { app, hint: result.message || undefined });
      }
      message = `${result.message} (v${version})`;
    }
    store.switchCurrent(app, version);
    if (req.lastGood > 0) store.markGood(app, req.lastGood);
    // The release it ran before stays too: it is what a rollback of this switch goes back to.
    const removed = store.prune(app, req.keepReleases || 5, Date.now(), [previous]);
    if (removed.length) log(`${app}: removed old releases ${removed.map((v) => `v${v}`).join(', ')}`);
    return { message, restarts: restartsOf(registry, app) };
  }

  async function restoreHandSpec(app: string): Promise<ActivateReleaseResponse> {
    const saved = readJsonFile<unknown>(handSpecFile(app));
    if (saved) {
      const [result] = await registry.start([AppSpec.fromJSON(saved)]);
      if (!result.ok) throw new FleetError('FAILED', result.error, { app });
      return { message: 'back on the spec it ran before its first release', restarts: restartsOf(registry, app) };
    }
    // The app was new on this host: rolling back removes it.
    if (registry.specOf(app)) await registry.delete(app);
    return { message: 'removed (it was new on this host)', restarts: 0 };
  }
}

/** Downloads an agent died in the middle of (an hour is far longer than any download). */
function removeStaleDownloads(appDir: string): void {
  for (const name of fs.readdirSync(appDir)) {
    if (!name.startsWith('.download-')) continue;
    const file = path.join(appDir, name);
    try {
      if (Date.now() - fs.statSync(file).mtimeMs > 60 * 60_000) fs.rmSync(file, { force: true });
    } catch {
      // gone meanwhile
    }
  }
}

function restartsOf(registry: AppRegistry, app: string): number {
  return registry.list().find((a) => a.spec?.name === app)?.instances.reduce((n, i) => n + i.restarts, 0) ?? 0;
}

/** The entry script must be in the release (a .gitignore'd build output is a classic). */
function checkEntry(spec: AppSpec, dir: string, app: string, version: number): void {
  if (!spec.script.startsWith(dir + path.sep)) return; // a command on PATH (npm) or an absolute path on the host
  if (!fs.existsSync(spec.script)) {
    throw new BadInputError(`the artifact of ${app} v${version} has no ${path.relative(dir, spec.script)} (the app's script)`, {
      hint: 'is it ignored by .gitignore or .fleetignore? list it in .fleetignore with a ! rule, or build it on the host with a deploy build command',
    });
  }
}

/** ${VAR} from the app's env on this host: each host's app has its own PORT. */
export function expand(url: string, env: Record<string, string>): string {
  return url.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? process.env[name] ?? '');
}

async function httpProblem(url: string, timeoutMs: number): Promise<string> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), redirect: 'manual' });
    await res.arrayBuffer().catch(() => undefined);
    return res.status >= 200 && res.status < 400 ? '' : `GET ${url} answered ${res.status}`;
  } catch (err) {
    const e = err as Error & { cause?: Error };
    return `GET ${url} failed: ${e.cause?.message ?? e.message}`;
  }
}

function tail(output: string): string {
  const lines = output.trimEnd().split('\n').slice(-5).join('\n');
  return lines ? `:\n${lines}` : '';
}

