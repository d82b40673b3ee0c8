// The host's side of deploys, loaded on the first release call: most hosts
// never deploy, and the release code is ~0.7 MB of heap (tar most of it).
import * as path from 'node:path';
import type { ReleaseHost, ReleaseHostDeps } from './release-host';

export function lazyReleaseHost(deps: ReleaseHostDeps): ReleaseHost {
  let host: ReleaseHost | undefined;
  const real = (): ReleaseHost => (host ??= (require('./release-host') as typeof import('./release-host')).createReleaseHost(deps));
  return {
    prepareRelease: async (req) => real().prepareRelease(req),
    releaseCommand: async (req) => real().releaseCommand(req),
    activateRelease: async (req) => real().activateRelease(req),
    releaseHealth: async (req) => real().releaseHealth(req),
  };
}

export function appsRootOf(home: string): string {
  return path.join(home, 'apps');
}
