// The state of a `fleet monit` screen and its transitions, without a terminal
// or a clock: data in, keys in, log lines in, a new state out.
//
// The selection is held by identity (host, app, instance), not by position: a
// refresh that adds or reorders processes leaves the same process selected.
// When the selected process goes away, the selection stays at its position.
import type { AppInfo, HostInfo, LogLine } from '@fleet/protocol';
import { statusWord, type StatusWord } from '../format/status';
import type { Key } from './keys';

/** Log lines kept for the selected app; more than any terminal shows. */
export const LOG_KEEP = 500;

/** What one refresh brought. */
export interface MonitData {
  hosts: HostInfo[];
  apps: AppInfo[];
  /** When it arrived (the header shows its age when refreshes fail). */
  atMs: number;
}

/** One line of the process table: an instance, or an app with none (stopped, or scaled to 0). */
export interface ProcRow {
  /** host/app#instance: what the selection follows. */
  key: string;
  host: string;
  app: string;
  appId: number;
  /** null for an app with no instance. */
  instance: number | null;
  pid: number;
  status: StatusWord;
  cpuPercent: number;
  memoryBytes: number;
  restarts: number;
  uptimeMs: number;
  /** 0 when the instance has not reported (not Node, or not yet). */
  eventLoopLagMs: number;
  heapUsedBytes: number;
  heapTotalBytes: number;
}

export interface MonitState {
  data?: MonitData;
  rows: ProcRow[];
  /** Index into rows; 0 when there are none. */
  selected: number;
  /** The first process row shown (the table scrolls to keep the selection in view). */
  top: number;
  /** Process rows the last frame showed: what PgUp/PgDn move by. */
  pageSize: number;
  /** The app the log lines are of, once its stream started. */
  logApp?: string;
  logs: LogLine[];
  /** Why the log stream of logApp stopped, until it runs again. */
  logError?: string;
  /** Why the last refresh failed; cleared by the next that succeeds. */
  error?: string;
}

export function initialState(): MonitState {
  return { rows: [], selected: 0, top: 0, pageSize: 1, logs: [] };
}

function rowKey(host: string, app: string, instance: number | null): string {
  return `${host}/${app}#${instance ?? '-'}`;
}

/** Plain code-unit order (as `fleet ls`): by host, then app id, then instance. */
function byHostThenId(a: AppInfo, b: AppInfo): number {
  return a.host < b.host ? -1 : a.host > b.host ? 1 : a.appId - b.appId;
}

export function procRows(apps: AppInfo[]): ProcRow[] {
  const rows: ProcRow[] = [];
  for (const app of [...apps].sort(byHostThenId)) {
    const name = app.spec?.name ?? '';
    if (app.instances.length === 0) {
      rows.push({
        key: rowKey(app.host, name, null),
        host: app.host,
        app: name,
        appId: app.appId,
        instance: null,
        pid: 0,
        status: 'stopped',
        cpuPercent: 0,
        memoryBytes: 0,
        restarts: 0,
        uptimeMs: 0,
        eventLoopLagMs: 0,
        heapUsedBytes: 0,
        heapTotalBytes: 0,
      });
      continue;
    }
    for (const inst of [...app.instances].sort((a, b) => a.instance - b.instance)) {
      const host = inst.host || app.host;
      const appName = inst.app || name;
      rows.push({
        key: rowKey(host, appName, inst.instance),
        host,
        app: appName,
        appId: app.appId,
        instance: inst.instance,
        pid: inst.pid,
        status: statusWord(inst.status),
        cpuPercent: inst.cpuPercent,
        memoryBytes: inst.memoryBytes,
        restarts: inst.restarts,
        uptimeMs: inst.uptimeMs,
        eventLoopLagMs: inst.eventLoopLagMs,
        heapUsedBytes: inst.heapUsedBytes,
        heapTotalBytes: inst.heapTotalBytes,
      });
    }
  }
  return rows;
}

const clamp = (v: number, lo: number, hi: number): number => Math.max(lo, Math.min(hi, v));

/** A refresh arrived: new rows, the same process still selected when it is there. */
export function withData(state: MonitState, data: MonitData): MonitState {
  const rows = procRows(data.apps);
  const was = state.rows[state.selected]?.key;
  const found = was === undefined ? -1 : rows.findIndex((r) => r.key === was);
  const selected = found >= 0 ? found : clamp(state.selected, 0, Math.max(0, rows.length - 1));
  return { ...state, data, rows, selected, error: undefined };
}

export function withError(state: MonitState, message: string): MonitState {
  return { ...state, error: message };
}

/** The selection after a key; `quit` and `redraw` are the caller's and leave it as it is. */
export function applyKey(state: MonitState, key: Key): MonitState {
  const last = Math.max(0, state.rows.length - 1);
  const page = Math.max(1, state.pageSize);
  const move = (to: number): MonitState => ({ ...state, selected: clamp(to, 0, last) });
  switch (key) {
    case 'up':
      return move(state.selected - 1);
    case 'down':
      return move(state.selected + 1);
    case 'pageUp':
      return move(state.selected - page);
    case 'pageDown':
      return move(state.selected + page);
    case 'home':
      return move(0);
    case 'end':
      return move(last);
    default:
      return state;
  }
}

export function selectedRow(state: MonitState): ProcRow | undefined {
  return state.rows[state.selected];
}

/** The app whose metrics and log lines are shown: the selected process's. */
export function selectedApp(state: MonitState): string | undefined {
  return selectedRow(state)?.app || undefined;
}

/** The log stream now follows `app`: earlier lines go (they were another app's). */
export function followingLogs(state: MonitState, app: string | undefined): MonitState {
  return { ...state, logApp: app, logs: [], logError: undefined };
}

/** A line from the stream of logApp; lines of other apps (a stream being replaced) are dropped. */
export function withLogLine(state: MonitState, line: LogLine): MonitState {
  // A drop notice is about a host or this reader, not an app: kept.
  if (line.dropped === 0 && line.app !== state.logApp) return state;
  const logs = state.logs.length >= LOG_KEEP ? [...state.logs.slice(state.logs.length - LOG_KEEP + 1), line] : [...state.logs, line];
  return { ...state, logs, logError: undefined };
}

export function withLogError(state: MonitState, message: string): MonitState {
  return { ...state, logError: message };
}

/** The first row to show so that the selection is in a window of `height` rows, moving as little as possible. */
export function scrollTop(top: number, selected: number, height: number, count: number): number {
  const h = Math.max(1, height);
  let t = top;
  if (selected < t) t = selected;
  if (selected >= t + h) t = selected - h + 1;
  return clamp(t, 0, Math.max(0, count - h));
}
