// The on-host layout of deployed releases (Capistrano-like), under <home>/apps:
//
//   <app>/releases/v<N>/                      one folder per release (the unpacked artifact)
//   <app>/releases/v<N>/.fleet-release.json   {version, digest, preparedMs}, written last
//   <app>/releases/.v<N>.staging/             where an unpack writes before renaming to v<N>
//   <app>/shared/                             survives releases; each entry is linked into every release
//   <app>/current -> releases/v<N>            switched atomically
//   <app>/state.json                          {running, lastGood}
//
// Invariants: a release folder counts only once its marker is written, and the
// marker is written after the shared links, so a crash mid-prepare leaves a
// folder that isComplete() rejects and the next prepare redoes. `current` is
// never missing: the new link is made beside it and renamed over it.
// One agent owns an app's folder; the store takes no locks. Its caller must
// not switch or prune one app from two places at once.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { BadInputError, readJsonFile, releaseAppNameProblem, syncDir, writeFileAtomic } from '@fleet/protocol';
import { planPrune } from './prune-plan';

export const RELEASE_MARKER = '.fleet-release.json';

/** Written last into a release folder: the folder is complete. */
export interface ReleaseMarker {
  version: number;
  digest: string;
  preparedMs: number;
}

export interface AppReleaseState {
  /** The version `current` was last switched to; 0 before the first deploy. */
  running: number;
  /** The last version the deploy judged healthy: where a rollback goes; 0 if none. */
  lastGood: number;
}

/**
 * A staging or incomplete release folder older than this is a leftover of a
 * crashed or abandoned prepare. Younger ones may be an unpack under way (the
 * next release can be prepared ahead while this one prunes), and the store
 * cannot see who is unpacking, so age is the test: an unpack does not take an
 * hour.
 */
export const STALE_PREPARE_MS = 60 * 60_000;

const RELEASE_NAME = /^v([1-9]\d*)$/;
// A staging folder (.v<N>.staging) or a temp sibling an unpacker made beside
// its destination (v<N>.unpacking-<hex>, .v<N>.staging.unpacking-<hex>).
const STAGING_NAME = /^\.?v([1-9]\d*)\./;

export class ReleaseStore {
  constructor(private readonly appsRoot: string) {}

  appDir(app: string): string {
    // Never sanitised: two names sharing a folder would share releases, ".." would be FLEET_HOME itself.
    const problem = releaseAppNameProblem(app);
    if (problem) throw new BadInputError(problem, { app, hint: 'rename the app in its ecosystem file' });
    return path.join(this.appsRoot, app);
  }

  releaseDir(app: string, version: number): string {
    return path.join(this.releasesDir(app), `v${checkVersion(app, version)}`);
  }

  /** Inside releases/ so the unpack's final rename stays on one filesystem (and is atomic). */
  stagingDir(app: string, version: number): string {
    return path.join(this.releasesDir(app), `.v${checkVersion(app, version)}.staging`);
  }

  ensureAppDirs(app: string): void {
    fs.mkdirSync(this.releasesDir(app), { recursive: true });
    fs.mkdirSync(this.sharedDir(app), { recursive: true });
  }

  /** The folder exists and its marker names this version (and digest, when given). */
  isComplete(app: string, version: number, digest?: string): boolean {
    const marker = this.marker(app, version);
    return marker !== undefined && marker.version === version && (digest === undefined || marker.digest === digest);
  }

  /**
   * Links every entry of shared/ into the release folder, replacing a
   * same-named entry of the artifact, then writes the marker. Only top-level
   * entries are linked: put `uploads` in shared/, not `public/uploads`.
   */
  markComplete(app: string, version: number, digest: string): void {
    const dir = this.releaseDir(app, version);
    this.linkShared(app, version);
    const marker: ReleaseMarker = { version, digest, preparedMs: Date.now() };
    writeFileAtomic(path.join(dir, RELEASE_MARKER), `${JSON.stringify(marker)}\n`, 0o644);
  }

  /** Discards a release and its staging folder (a failed prepare). */
  remove(app: string, version: number): void {
    fs.rmSync(this.releaseDir(app, version), { recursive: true, force: true });
    fs.rmSync(this.stagingDir(app, version), { recursive: true, force: true });
  }

  /**
   * Points `current` at the release and records it as running. The target is
   * relative, so the app folder can move (or be seen through a bind mount)
   * without breaking the link.
   */
  switchCurrent(app: string, version: number): void {
    if (!this.isComplete(app, version)) {
      throw new BadInputError(`release v${version} of ${app} is not prepared on this host`, {
        app,
        hint: 'prepare the release (unpack and markComplete) before switching to it',
      });
    }
    const appDir = this.appDir(app);
    const tmp = path.join(appDir, `.current.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`);
    fs.symlinkSync(path.join('releases', `v${version}`), tmp);
    try {
      // rename(2) replaces the old link in one step: readers see old or new, never nothing.
      fs.renameSync(tmp, this.currentLink(app));
    } catch (err) {
      fs.rmSync(tmp, { force: true });
      throw err;
    }
    syncDir(appDir);
    this.writeState(app, { ...this.state(app), running: version });
  }

  /** The version `current` points to; 0 when there is no link (never deployed). */
  current(app: string): number {
    let target: string;
    try {
      target = fs.readlinkSync(this.currentLink(app));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 0;
      throw err;
    }
    const m = RELEASE_NAME.exec(path.basename(target));
    return m ? Number(m[1]) : 0;
  }

  state(app: string): AppReleaseState {
    const s = readJsonFile<Partial<AppReleaseState>>(this.stateFile(app)) ?? {};
    return { running: asVersion(s.running), lastGood: asVersion(s.lastGood) };
  }

  markGood(app: string, version: number): void {
    this.writeState(app, { ...this.state(app), lastGood: checkVersion(app, version) });
  }

  /** Complete releases on disk, ascending. */
  versions(app: string): number[] {
    return this.entries(app)
      .map((name) => RELEASE_NAME.exec(name))
      .filter((m): m is RegExpExecArray => m !== null)
      .map((m) => Number(m[1]))
      .filter((v) => this.isComplete(app, v))
      .sort((a, b) => a - b);
  }

  /**
   * Deletes complete releases beyond the `keep` newest, never the current,
   * running or last good one (see planPrune), and returns their versions.
   * Also deletes leftovers of prepares that never finished (staging and
   * unpack temp folders, unmarked release folders) once older than
   * STALE_PREPARE_MS; those are not in the returned list.
   */
  prune(app: string, keep: number, nowMs = Date.now(), alsoKeep: number[] = []): number[] {
    const { running, lastGood } = this.state(app);
    const protect = [this.current(app), running, lastGood, ...alsoKeep].filter((v) => v > 0);
    const doomed = planPrune(this.versions(app), keep, protect);
    for (const v of doomed) fs.rmSync(this.releaseDir(app, v), { recursive: true, force: true });
    this.removeStalePrepares(app, protect, nowMs);
    return doomed;
  }

  private removeStalePrepares(app: string, protect: number[], nowMs: number): void {
    for (const name of this.entries(app)) {
      const staging = STAGING_NAME.exec(name);
      const release = RELEASE_NAME.exec(name);
      const version = Number((staging ?? release)?.[1] ?? 0);
      const leftover = staging !== null || (release !== null && !this.isComplete(app, version));
      // A protected folder whose marker went bad is still what runs: leave it to a human.
      if (!leftover || (release !== null && protect.includes(version))) continue;
      const dir = path.join(this.releasesDir(app), name);
      let mtimeMs: number;
      try {
        mtimeMs = fs.lstatSync(dir).mtimeMs;
      } catch {
        continue; // gone meanwhile
      }
      if (nowMs - mtimeMs >= STALE_PREPARE_MS) fs.rmSync(dir, { recursive: true, force: true });
    }
  }

  /** Links shared/ into the release; done before its install and build, which may need .env. */
  linkShared(app: string, version: number): void {
    const releaseDir = this.releaseDir(app, version);
    if (!fs.statSync(releaseDir).isDirectory()) throw new Error(`${releaseDir} is not a folder`);
    const sharedDir = this.sharedDir(app);
    for (const name of fs.readdirSync(sharedDir)) {
      if (name === RELEASE_MARKER) continue; // the marker belongs to the release
      const linkPath = path.join(releaseDir, name);
      fs.rmSync(linkPath, { recursive: true, force: true });
      // Relative for the same reason as `current`: releases/vN/x -> ../../shared/x.
      fs.symlinkSync(path.relative(releaseDir, path.join(sharedDir, name)), linkPath);
    }
  }

  private marker(app: string, version: number): ReleaseMarker | undefined {
    try {
      return readJsonFile<ReleaseMarker>(path.join(this.releaseDir(app, version), RELEASE_MARKER));
    } catch {
      return undefined; // unreadable or torn: not complete
    }
  }

  private writeState(app: string, state: AppReleaseState): void {
    writeFileAtomic(this.stateFile(app), `${JSON.stringify(state)}\n`);
  }

  private entries(app: string): string[] {
    try {
      return fs.readdirSync(this.releasesDir(app));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw err;
    }
  }

  private releasesDir(app: string): string {
    return path.join(this.appDir(app), 'releases');
  }

  private sharedDir(app: string): string {
    return path.join(this.appDir(app), 'shared');
  }

  private currentLink(app: string): string {
    return path.join(this.appDir(app), 'current');
  }

  private stateFile(app: string): string {
    return path.join(this.appDir(app), 'state.json');
  }
}

/** Versions become folder names: anything but a positive integer is a bug upstream. */
function checkVersion(app: string, version: number): number {
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new BadInputError(`release version must be a positive integer, got ${version}`, { app });
  }
  return version;
}

function asVersion(v: unknown): number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v > 0 ? v : 0;
}

