// A spec compiled on the laptop names the laptop's folder; a release runs from
// a folder on each host. Paths inside the app folder become RELEASE_DIR paths,
// which every agent points at its own releases/vN.
import * as path from 'node:path';
import { type AppSpec, BadInputError, RELEASE_DIR } from '@fleet/protocol';

function inside(appDir: string, p: string): string | undefined {
  if (p === appDir) return RELEASE_DIR;
  if (p.startsWith(appDir + path.sep)) return `${RELEASE_DIR}/${path.relative(appDir, p).split(path.sep).join('/')}`;
  return undefined;
}

export function releaseSpec(spec: AppSpec, appDir: string): AppSpec {
  const cwd = inside(appDir, spec.cwd);
  if (!cwd) {
    throw new BadInputError(`${spec.name} runs in ${spec.cwd}, outside the app folder ${appDir} that is deployed`, {
      hint: 'deploy from the folder that holds the app (its cwd), or drop cwd from the config',
    });
  }
  const place = (p: string): string => inside(appDir, p) ?? p;
  return {
    ...spec,
    cwd,
    script: place(spec.script),
    args: spec.args.map(place),
    log: spec.log && { ...spec.log, outFile: place(spec.log.outFile), errorFile: place(spec.log.errorFile) },
    // A release is immutable: watching its files for changes has no point on a host.
    watch: spec.watch && { ...spec.watch, enabled: false },
  };
}

/** The script's path inside the artifact, when it is a file of the app folder. */
export function releaseScript(spec: AppSpec): string | undefined {
  return spec.script.startsWith(`${RELEASE_DIR}/`) ? spec.script.slice(RELEASE_DIR.length + 1) : undefined;
}
