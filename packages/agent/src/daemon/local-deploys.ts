// Local mode's releases and deploys: the embedded controller's artifact store,
// release book and deploy driver, under FLEET_HOME/deploys. Loaded by the first
// deploy call, not at start: most local daemons never deploy, and every one
// would carry this code. A home holding a deploy record loads it at start, as
// before: to resume unfinished deployments, clean up after a crashed upload,
// and refuse to start on a broken record.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { type Deployment, toServiceError } from '@fleet/protocol';
import { type ArtifactStore, type DeployDriver, type DeployHandlers, type HostRegistry, loadDeploys, localAuthorizer, type ReleaseBook } from '@fleet/controller';

export interface LocalDeploys {
  /** The Fleet service's deploy calls; the first one loads the machinery. */
  handlers: DeployHandlers;
  /** The stored artifact of a digest (the local host prepares from it). */
  artifactFile(digest: string): string;
  /** For /metrics: the deployments on record (none before the first deploy). */
  deployments(): Deployment[];
  /** At start: loads the machinery when the home holds anything of a deploy. */
  loadIfOnDisk(): void;
  /** At start: unfinished deployments go on (when loaded: otherwise there are none). */
  resumeAll(): void;
  stop(): void;
}

interface Loaded {
  artifacts: ArtifactStore;
  book: ReleaseBook;
  driver: DeployDriver;
  handlers: DeployHandlers;
}

const CALLS = ['hasArtifact', 'uploadArtifact', 'deploy', 'deployments', 'watchDeployment', 'controlDeployment', 'releases', 'rollback'] as const;

export function localDeploys(opts: { dataDir: string; hosts: HostRegistry; log: (msg: string) => void }): LocalDeploys {
  let loaded: Loaded | undefined;
  const load = (): Loaded => {
    if (loaded) return loaded;
    const { ArtifactStore, ReleaseBook, DeployDriver, createDeployService } = loadDeploys();
    const artifacts = new ArtifactStore(opts.dataDir);
    const book = new ReleaseBook(opts.dataDir);
    const driver = new DeployDriver({ book, registry: opts.hosts, log: opts.log, onFinished: () => artifacts.prune(book.recentDigests()) });
    const handlers = createDeployService({ registry: opts.hosts, artifacts, book, driver, authorize: localAuthorizer });
    return (loaded = { artifacts, book, driver, handlers });
  };
  const handlers = {} as Record<(typeof CALLS)[number], (call: { emit(e: 'error', err: unknown): void }, callback?: (err: unknown) => void) => void>;
  for (const name of CALLS) {
    handlers[name] = (call, callback) => {
      let real: Loaded;
      try {
        real = load();
      } catch (err) {
        // Unary and client-stream calls answer through the callback; watchDeployment streams.
        if (callback) callback(toServiceError(err));
        else call.emit('error', toServiceError(err));
        return;
      }
      (real.handlers[name] as (c: unknown, cb: unknown) => void)(call, callback);
    };
  }
  return {
    handlers: handlers as unknown as DeployHandlers,
    artifactFile: (digest) => load().artifacts.fileOf(digest),
    deployments: () => loaded?.book.deployments() ?? [],
    loadIfOnDisk: () => {
      if (deploysOnDisk(opts.dataDir)) load();
    },
    resumeAll: () => loaded?.driver.resumeAll(),
    stop: () => loaded?.driver.stop(),
  };
}

/** Anything a deploy or an upload left: the records, or a file in artifacts/. Unreadable: yes (loading says why). */
function deploysOnDisk(dir: string): boolean {
  const names = (d: string): string[] | undefined => {
    try {
      return fs.readdirSync(d);
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ENOENT' ? [] : undefined;
    }
  };
  const top = names(dir);
  const artifacts = names(path.join(dir, 'artifacts'));
  return !top || !artifacts || top.some((n) => n !== 'artifacts') || artifacts.length > 0;
}
