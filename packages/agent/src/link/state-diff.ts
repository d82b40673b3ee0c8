// What changed in a host's apps since the last report: the agent sends a full
// snapshot on (re)connect and then only these deltas. Pure.
import { AppInfo, type StateDelta } from '@fleet/protocol';

/** App name -> its report, encoded for comparison. */
export type SentState = Map<string, string>;

function key(app: AppInfo): string {
  // Uptime moves every millisecond; the controller derives it from startedMs.
  const stable = { ...app, instances: app.instances.map((i) => ({ ...i, uptimeMs: 0 })) };
  return JSON.stringify(AppInfo.toJSON(stable));
}

export function encodeState(apps: AppInfo[]): SentState {
  return new Map(apps.map((a) => [a.spec?.name ?? '', key(a)]));
}

export function diffState(prev: SentState, apps: AppInfo[]): { delta: StateDelta; next: SentState } {
  const next = encodeState(apps);
  const changed = apps.filter((a) => prev.get(a.spec?.name ?? '') !== next.get(a.spec?.name ?? ''));
  const removed = [...prev.keys()].filter((name) => !next.has(name));
  return { delta: { changed, removed }, next };
}

export function isEmptyDelta(d: StateDelta): boolean {
  return d.changed.length === 0 && d.removed.length === 0;
}
