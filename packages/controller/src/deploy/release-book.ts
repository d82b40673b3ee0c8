// The controller's record of releases (numbered per app, immutable but for
// their state) and deployments (the persisted state machines). Both files are
// written atomically on every change: a deployment changes a few times a
// second at most, and a restarted controller must resume from its last step.
import * as path from 'node:path';
import { BadInputError, Deployment, DeploymentState, readJsonFile, Release, ReleaseState, writeFileAtomic } from '@fleet/protocol';
import { isFinal } from './rollout-plan';

/** Artifacts kept per app on the controller, newest first (a rollback further back re-uploads nothing: it is refused). */
const KEEP_ARTIFACTS = 10;

/** Ended deployments kept per app, for `fleet deploy status --all`. */
const KEEP_ENDED = 30;

interface BookFile<T> {
  version: 1;
  items: T[];
}

export class ReleaseBook {
  private readonly releaseFile: string;
  private readonly deploymentFile: string;
  private readonly byApp = new Map<string, Release[]>();
  private deps: Deployment[] = [];

  constructor(dataDir: string) {
    this.releaseFile = path.join(dataDir, 'releases.json');
    this.deploymentFile = path.join(dataDir, 'deployments.json');
    for (const raw of load<unknown>(this.releaseFile)) {
      const r = Release.fromJSON(raw);
      const list = this.byApp.get(r.app) ?? [];
      list.push(r);
      this.byApp.set(r.app, list);
    }
    this.deps = load<unknown>(this.deploymentFile).map((d) => Deployment.fromJSON(d));
    // A controller that died between ending a deployment and marking its release: mark it now.
    for (const d of this.deps) {
      const r = this.release(d.app, d.version);
      if (d.rollback || d.endedMs === 0 || !r || r.state !== ReleaseState.RELEASE_STATE_PENDING) continue;
      r.state = d.state === DeploymentState.DEPLOYMENT_STATE_SUCCEEDED ? ReleaseState.RELEASE_STATE_GOOD : ReleaseState.RELEASE_STATE_FAILED;
    }
  }

  // ---- releases ---------------------------------------------------------------

  releases(app: string): Release[] {
    return [...(this.byApp.get(app) ?? [])].sort((a, b) => a.version - b.version);
  }

  apps(): string[] {
    return [...this.byApp.keys()].sort();
  }

  release(app: string, version: number): Release | undefined {
    return this.byApp.get(app)?.find((r) => r.version === version);
  }

  /** Records a new release under the next number. */
  add(release: Omit<Release, 'version'>): Release {
    const list = this.byApp.get(release.app) ?? [];
    const version = list.reduce((n, r) => Math.max(n, r.version), 0) + 1;
    // The spec names its release: every instance started from it reports the number.
    const created: Release = { ...release, version, spec: release.spec && { ...release.spec, release: version } };
    list.push(created);
    this.byApp.set(release.app, list);
    this.writeReleases();
    return created;
  }

  setState(app: string, version: number, state: ReleaseState): void {
    const r = this.release(app, version);
    if (!r || r.state === state) return;
    r.state = state;
    this.writeReleases();
  }

  /** The newest good release older than `before` (0: any). */
  lastGood(app: string, before = 0): Release | undefined {
    return this.releases(app)
      .filter((r) => r.state === ReleaseState.RELEASE_STATE_GOOD && (before === 0 || r.version < before))
      .at(-1);
  }

  /** The artifacts worth keeping: the newest releases of each app (older ones are on the hosts, if anywhere). */
  recentDigests(perApp = KEEP_ARTIFACTS): Set<string> {
    return new Set([...this.byApp.keys()].flatMap((app) => this.releases(app).slice(-perApp).map((r) => r.digest)));
  }

  // ---- deployments ------------------------------------------------------------

  /** By id or a prefix of it; a prefix naming two deployments is refused. */
  deployment(id: string): Deployment | undefined {
    if (!id) return undefined;
    const exact = this.deps.find((d) => d.id === id);
    if (exact) return exact;
    const matches = this.deps.filter((d) => d.id.startsWith(id));
    if (matches.length > 1) {
      throw new BadInputError(`"${id}" names ${matches.length} deployments (${matches.map((d) => d.id).join(', ')})`, { hint: 'give more of the id' });
    }
    return matches[0];
  }

  /** Newest first. */
  deployments(app = ''): Deployment[] {
    return this.deps.filter((d) => !app || d.app === app).sort((a, b) => b.createdMs - a.createdMs);
  }

  /** The deployment of the app that has not ended, if any. */
  active(app: string): Deployment | undefined {
    return this.deps.find((d) => d.app === app && !isFinal(d.state) && d.state !== DeploymentState.DEPLOYMENT_STATE_UNSPECIFIED);
  }

  unfinished(): Deployment[] {
    return this.deps.filter((d) => d.endedMs === 0);
  }

  save(d: Deployment): void {
    const i = this.deps.findIndex((x) => x.id === d.id);
    if (i >= 0) this.deps[i] = d;
    else this.deps.push(d);
    this.trim(d.app);
    writeFileAtomic(this.deploymentFile, JSON.stringify({ version: 1, items: this.deps.map((x) => Deployment.toJSON(x)) }));
  }

  private trim(app: string): void {
    const ended = this.deps.filter((d) => d.app === app && d.endedMs > 0).sort((a, b) => b.createdMs - a.createdMs);
    const drop = new Set(ended.slice(KEEP_ENDED).map((d) => d.id));
    if (drop.size) this.deps = this.deps.filter((d) => !drop.has(d.id));
  }

  private writeReleases(): void {
    const items = [...this.byApp.values()].flat().map((r) => Release.toJSON(r));
    writeFileAtomic(this.releaseFile, JSON.stringify({ version: 1, items }));
  }
}

function load<T>(file: string): T[] {
  let raw: BookFile<T> | undefined;
  try {
    raw = readJsonFile<BookFile<T>>(file);
  } catch (err) {
    throw new BadInputError(`cannot read ${file}: ${(err as Error).message}`, { hint: 'restore it from a backup, or move it aside to start a new record' });
  }
  if (!raw) return [];
  if (raw.version !== 1) throw new BadInputError(`${file} has version ${String(raw.version)}, this controller reads version 1`, { hint: 'run the fleet version that wrote it' });
  return raw.items;
}
