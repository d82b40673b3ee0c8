// The summary form of a process list (ListRequest.summary): what `fleet ls`
// shows and nothing else. A full AppInfo carries the whole spec, every
// instance's state history and app metrics; `ls` reads a name, an exec mode,
// a release and per-instance figures, so the rest is left out before encoding.
import { AppSpec } from './gen/fleet/v1/app';
import type { AppInfo } from './gen/fleet/v1/process';

export function summarizeApps(apps: AppInfo[]): AppInfo[] {
  return apps.map((app) => ({
    ...app,
    spec: app.spec && AppSpec.fromPartial({ name: app.spec.name, execMode: app.spec.execMode, release: app.spec.release }),
    hostEnv: {},
    metrics: [],
    instances: app.instances.map((i) => ({ ...i, events: [], metrics: [] })),
  }));
}
