// What is an event on fleet.<cluster>.events.<host>: a change in an app's spec
// or desired state, or in an instance's life — status, pid, restarts, exit,
// release, a new transition in its history. Usage figures (CPU, memory, lag,
// heap, app metrics) move all the time; they travel as samples on the metrics
// subject instead. Pure.
import type { AppInfo, StateDelta } from '@fleet/protocol';

/** App name -> what of it makes an event, encoded for comparison. */
export type EventState = Map<string, string>;

function eventKey(app: AppInfo): string {
  return JSON.stringify([
    app.spec ?? null,
    app.desired,
    app.runnerPid,
    app.reloading,
    app.instances.map((i) => [
      i.instance,
      i.pid,
      i.status,
      i.restarts,
      i.unstableRestarts,
      i.startedMs,
      i.lastExitCode,
      i.lastExitSignal,
      i.release,
      i.events.length,
      i.events.at(-1)?.timeMs ?? 0,
    ]),
  ]);
}

export function encodeEvents(apps: AppInfo[]): EventState {
  return new Map(apps.map((a) => [a.spec?.name ?? '', eventKey(a)]));
}

/** The apps whose life changed since `prev`, whole, and the names gone. */
export function diffEvents(prev: EventState, apps: AppInfo[]): { delta: StateDelta; next: EventState } {
  const next = encodeEvents(apps);
  const changed = apps.filter((a) => prev.get(a.spec?.name ?? '') !== next.get(a.spec?.name ?? ''));
  const removed = [...prev.keys()].filter((name) => !next.has(name));
  return { delta: { changed, removed }, next };
}
