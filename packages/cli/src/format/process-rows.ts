// The process list shared by `ls` and `start`: one row per instance, and one
// "stopped" row for an app that has no instance (stopped, or scaled to 0) so it
// never disappears from the list.
import type { AppInfo } from '@fleet/protocol';
import type { Colors } from './color';
import { formatBytes } from './bytes';
import { formatDuration } from './duration';
import { formatPercent } from './percent';
import { colorStatus, execModeWord, instanceExecMode, statusWord, type ExecModeWord, type StatusWord } from './status';
import { renderTable, type Column } from './table';

/** One object of `fleet ls --json`. The key set is the contract: add keys, never rename. */
export interface ProcessRow {
  app: string;
  appId: number;
  /** null for the placeholder row of an app with no instance. */
  instance: number | null;
  /** 0 when not running. */
  pid: number;
  status: StatusWord;
  cpuPercent: number;
  memoryBytes: number;
  restarts: number;
  uptimeMs: number;
  execMode: ExecModeWord;
  createdMs: number;
  /** The host running it (the machine's name in local mode). */
  host: string;
  /** The release (fleet deploy) the process was started from; 0: started by hand. */
  release: number;
}

export function processRows(apps: AppInfo[]): ProcessRow[] {
  const rows: ProcessRow[] = [];
  // Plain code-unit order: localeCompare loads ICU's collator, ~30 % of a `fleet ls` run.
  for (const app of [...apps].sort((a, b) => (a.host < b.host ? -1 : a.host > b.host ? 1 : a.appId - b.appId))) {
    const name = app.spec?.name ?? '';
    const mode = execModeWord(app.spec?.execMode);
    if (app.instances.length === 0) {
      rows.push({
        app: name,
        appId: app.appId,
        instance: null,
        pid: 0,
        status: 'stopped',
        cpuPercent: 0,
        memoryBytes: 0,
        restarts: 0,
        uptimeMs: 0,
        execMode: mode,
        createdMs: 0,
        host: app.host,
        release: app.spec?.release ?? 0,
      });
      continue;
    }
    for (const inst of [...app.instances].sort((a, b) => a.instance - b.instance)) {
      rows.push({
        app: inst.app || name,
        appId: app.appId,
        instance: inst.instance,
        pid: inst.pid,
        status: statusWord(inst.status),
        cpuPercent: inst.cpuPercent,
        memoryBytes: inst.memoryBytes,
        restarts: inst.restarts,
        uptimeMs: inst.uptimeMs,
        execMode: instanceExecMode(inst.execMode, app.spec?.execMode),
        createdMs: inst.createdMs,
        host: inst.host || app.host,
        release: inst.release,
      });
    }
  }
  return rows;
}

const COLUMNS: Column[] = [
  { header: 'id', align: 'right' },
  { header: 'name' },
  { header: 'mode' },
  { header: '#', align: 'right' },
  { header: 'pid', align: 'right' },
  { header: 'status' },
  { header: 'restarts', align: 'right' },
  { header: 'uptime', align: 'right' },
  { header: 'cpu', align: 'right' },
  { header: 'mem', align: 'right' },
];

export interface TableOptions {
  /** A HOST column: on by default when the rows come from more than one host, or from a controller. */
  showHost?: boolean;
}

export function renderProcessTable(rows: ProcessRow[], colors: Colors, opts: TableOptions = {}): string {
  if (rows.length === 0) return 'no apps running; start one with: fleet start <script|config>\n';
  const running = (r: ProcessRow): boolean => r.pid > 0 && r.status !== 'stopped' && r.status !== 'unknown';
  const showHost = opts.showHost === true || new Set(rows.map((r) => r.host)).size > 1;
  // A release column once anything was deployed: during a rollout it shows which instance runs what.
  const showRelease = rows.some((r) => r.release > 0);
  const columns = [...(showHost ? [{ header: 'host' }] : []), ...COLUMNS.slice(0, 2), ...(showRelease ? [{ header: 'rel' }] : []), ...COLUMNS.slice(2)];
  return renderTable(
    columns.map((c) => ({ ...c, header: colors.bold(c.header) })),
    rows.map((r) => [
      ...(showHost ? [r.host] : []),
      String(r.appId),
      colors.cyan(r.app),
      ...(showRelease ? [r.release > 0 ? `v${r.release}` : '-'] : []),
      r.execMode,
      r.instance === null ? '-' : String(r.instance),
      r.pid > 0 ? String(r.pid) : '-',
      colorStatus(r.status, colors),
      String(r.restarts),
      r.status === 'online' ? formatDuration(r.uptimeMs) : '-',
      running(r) ? formatPercent(r.cpuPercent) : '-',
      running(r) ? formatBytes(r.memoryBytes) : '-',
    ]),
  );
}
