// The `fleet monit` screen as lines, from the state, the terminal's size and
// the time: no terminal here, so every frame can be checked in a unit test.
//
//   fleet monit · test · 3 hosts, 3 ready · 6 processes, 6 online   12:04:05
//   HOSTS                                                         (≤ 1/4 of the room)
//   PROCESSES 1-6 of 6                                            (what is left)
//   METRICS · api on web1                                         (≤ 1/5)
//   LOGS · api                                                    (≥ 1/4, more when the table is short)
//   ↑↓ j/k select · PgUp/PgDn page · g/G first/last · q quit
//
// Every line is cut to the terminal's width and there are never more lines
// than it has rows: a line too long would wrap and scroll the screen away.
import { type AppInfo, type AppMetric, type HostInfo, HostStatus, hostStatusWord, type InstanceInfo, type LogLine, LogStream } from '@fleet/protocol';
import { formatBytes } from '../format/bytes';
import type { Colors } from '../format/color';
import { formatDuration } from '../format/duration';
import { formatPercent } from '../format/percent';
import { colorStatus } from '../format/status';
import { formatMetricValue, metricKindWord } from '../format/metric-value';
import { type MonitState, type ProcRow, scrollTop, selectedRow } from './monit-state';
import { displayWidth, fitWidth, padTo, sanitize } from './screen-text';

export interface ScreenSize {
  columns: number;
  rows: number;
}

export interface RenderOptions {
  size: ScreenSize;
  colors: Colors;
  now: number;
  /** Where the data comes from: the context's name, or "local". */
  title: string;
  intervalMs: number;
  /** False when stdin is not a terminal: no keys, Ctrl-C only. */
  keys?: boolean;
}

export interface Frame {
  lines: string[];
  /** The scroll position and page size the frame used, for the state. */
  top: number;
  pageSize: number;
}

/** Below this the screen says so instead of drawing a mess. */
export const MIN_SIZE: ScreenSize = { columns: 40, rows: 12 };

const INVERSE_ON = '\u001b[7m';
const INVERSE_OFF = '\u001b[27m';
const GAP = '  ';

export interface Layout {
  hostRows: number;
  procRows: number;
  metricRows: number;
  logRows: number;
}

/**
 * Rows for each section's body, given what there is to show and the terminal's
 * rows. Titles, column headers, the header and the footer are counted here.
 */
export function layout(counts: { hosts: number; procs: number; metrics: number }, rows: number): Layout {
  const fixed = 1 /* header */ + 1 /* footer */ + 2 /* hosts title, columns */ + 2 /* processes */ + 1 + (counts.metrics > 0 ? 1 : 0) + 1; /* logs title */
  const room = Math.max(0, rows - fixed);
  const hostRows = Math.min(Math.max(1, counts.hosts), Math.max(1, Math.floor(room / 4)));
  const metricRows = Math.min(Math.max(1, counts.metrics), Math.max(1, Math.floor(room / 5)));
  const logMin = Math.max(2, Math.floor(room / 4));
  let procRows = Math.max(1, room - hostRows - metricRows - logMin);
  procRows = Math.min(procRows, Math.max(1, counts.procs));
  const logRows = Math.max(0, room - hostRows - metricRows - procRows);
  return { hostRows, procRows, metricRows, logRows };
}

interface Col {
  header: string;
  align?: 'left' | 'right';
}

/** Aligned columns over all rows (not just the visible ones, so scrolling does not shift them); the last column unpadded. */
function tableLines(cols: Col[], rows: string[][], colors: Colors): string[] {
  const widths = cols.map((c, i) => Math.max(displayWidth(c.header), ...rows.map((r) => displayWidth(r[i] ?? ''))));
  const line = (cells: string[]): string =>
    cols
      .map((c, i) => (i === cols.length - 1 && c.align !== 'right' ? (cells[i] ?? '') : padTo(cells[i] ?? '', widths[i], c.align)))
      .join(GAP)
      .trimEnd();
  return [colors.bold(line(cols.map((c) => c.header))), ...rows.map(line)];
}

function usage(free: number, total: number): string {
  if (!total) return '-';
  const used = Math.max(0, total - free);
  return `${formatBytes(used)}/${formatBytes(total)} ${Math.round((used / total) * 100)}%`;
}

function hostStatusText(h: HostInfo, colors: Colors): string {
  const word = hostStatusWord(h.status);
  if (h.status === HostStatus.HOST_STATUS_READY) return colors.green(word);
  if (h.status === HostStatus.HOST_STATUS_DISCONNECTED) return colors.yellow(word);
  return colors.red(word);
}

function hostSection(hosts: HostInfo[], bodyRows: number, colors: Colors): string[] {
  const title = colors.bold('HOSTS');
  if (hosts.length === 0) return [title, '', colors.gray('  no hosts (see fleet hosts)')];
  const ready = (h: HostInfo): boolean => h.status === HostStatus.HOST_STATUS_READY;
  const showProblem = hosts.some((h) => h.problem);
  const cols: Col[] = [
    { header: 'host' },
    { header: 'status' },
    { header: 'load', align: 'right' },
    { header: 'cpus', align: 'right' },
    { header: 'memory' },
    { header: 'disk' },
    { header: 'apps', align: 'right' },
    { header: 'procs', align: 'right' },
    ...(showProblem ? [{ header: 'problem' }] : []),
  ];
  const rows = hosts.map((h) => [
    colors.cyan(sanitize(h.name)),
    hostStatusText(h, colors),
    ready(h) ? h.load1.toFixed(2) : '-',
    h.cpus ? String(h.cpus) : '-',
    usage(h.memoryFreeBytes, h.memoryTotalBytes),
    usage(h.diskFreeBytes, h.diskTotalBytes),
    String(h.apps),
    String(h.instances),
    ...(showProblem ? [colors.yellow(sanitize(h.problem))] : []),
  ]);
  const [header, ...body] = tableLines(cols, rows, colors);
  const lines = body.map((l) => `  ${l}`);
  if (lines.length > bodyRows) {
    const shown = lines.slice(0, bodyRows - 1);
    const rest = hosts.slice(bodyRows - 1);
    const notReady = rest.filter((h) => !ready(h)).length;
    shown.push(colors.gray(`  … ${rest.length} more host${rest.length === 1 ? '' : 's'}${notReady ? `, ${notReady} not ready` : ''}`));
    return [title, `  ${header}`, ...shown];
  }
  return [title, `  ${header}`, ...lines];
}

function lagText(r: ProcRow): string {
  if (r.eventLoopLagMs <= 0) return '-';
  if (r.eventLoopLagMs >= 1000) return formatDuration(r.eventLoopLagMs);
  // Below 10 ms a tenth tells; 9.96 would print as "10.0", so it is rounded as the larger ones are.
  return `${r.eventLoopLagMs < 9.95 ? r.eventLoopLagMs.toFixed(1) : Math.round(r.eventLoopLagMs)}ms`;
}

function heapText(r: ProcRow): string {
  if (r.heapTotalBytes <= 0) return '-';
  return `${formatBytes(r.heapUsedBytes)}/${formatBytes(r.heapTotalBytes)}`;
}

const PROC_COLS: Col[] = [
  { header: 'host' },
  { header: 'app' },
  { header: '#', align: 'right' },
  { header: 'status' },
  { header: 'cpu', align: 'right' },
  { header: 'mem', align: 'right' },
  { header: '↺', align: 'right' },
  { header: 'uptime', align: 'right' },
  { header: 'lag', align: 'right' },
  { header: 'heap', align: 'right' },
];

function procSection(state: MonitState, bodyRows: number, top: number, width: number, colors: Colors): string[] {
  const n = state.rows.length;
  if (n === 0) return [colors.bold('PROCESSES'), '', colors.gray('  no apps running; start one with: fleet start <script|config> --hosts <names>')];
  const running = (r: ProcRow): boolean => r.pid > 0 && r.status !== 'stopped' && r.status !== 'unknown';
  const rows = state.rows.map((r) => [
    sanitize(r.host),
    colors.cyan(sanitize(r.app)),
    r.instance === null ? '-' : String(r.instance),
    colorStatus(r.status, colors),
    running(r) ? formatPercent(r.cpuPercent) : '-',
    running(r) ? formatBytes(r.memoryBytes) : '-',
    String(r.restarts),
    r.status === 'online' ? formatDuration(r.uptimeMs) : '-',
    running(r) ? lagText(r) : '-',
    running(r) ? heapText(r) : '-',
  ]);
  const [header, ...body] = tableLines(PROC_COLS, rows, colors);
  const end = Math.min(n, top + bodyRows);
  const title = colors.bold('PROCESSES') + (n > bodyRows ? colors.gray(` ${top + 1}-${end} of ${n}`) : '');
  const lines = [title, `  ${header}`];
  for (let i = top; i < end; i++) {
    if (i === state.selected) lines.push(INVERSE_ON + fitWidth(`> ${body[i]}`, width, true) + INVERSE_OFF);
    else lines.push(`  ${body[i]}`);
  }
  return lines;
}

function appOf(state: MonitState, row: ProcRow): AppInfo | undefined {
  return state.data?.apps.find((a) => a.host === row.host && a.appId === row.appId);
}

/** The app's metrics, or else the instance's (an app total not reported yet). */
function metricsOf(app: AppInfo | undefined, inst: InstanceInfo | undefined): AppMetric[] {
  const list = app?.metrics.length ? app.metrics : (inst?.metrics ?? []);
  return [...list].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function metricSection(state: MonitState, bodyRows: number, colors: Colors): string[] {
  const row = selectedRow(state);
  if (!row) return [colors.bold('METRICS'), colors.gray('  select a process')];
  const app = appOf(state, row);
  const inst = row.instance === null ? undefined : app?.instances.find((i) => i.instance === row.instance);
  const metrics = metricsOf(app, inst);
  const title = `${colors.bold('METRICS')} · ${colors.cyan(sanitize(row.app))} on ${sanitize(row.host)}`;
  if (metrics.length === 0) return [title, colors.gray('  none reported (an app records its own with @fleet/probe)')];
  const several = (app?.instances.length ?? 0) > 1 && inst !== undefined && inst.metrics.length > 0;
  const cols: Col[] = [{ header: 'name' }, { header: 'kind' }, { header: several ? 'all instances' : 'value' }, ...(several ? [{ header: `#${row.instance}` }] : []), { header: 'help' }];
  const rows = metrics.map((m) => {
    const own = several ? inst!.metrics.find((x) => x.name === m.name) : undefined;
    return [sanitize(m.name), metricKindWord(m.kind), formatMetricValue(m), ...(several ? [own ? formatMetricValue(own) : '-'] : []), colors.gray(sanitize(m.help))];
  });
  const [header, ...body] = tableLines(cols, rows, colors);
  const shown = body.length > bodyRows ? [...body.slice(0, bodyRows - 1), `… ${body.length - bodyRows + 1} more`] : body;
  return [title, `  ${header}`, ...shown.map((l) => `  ${l}`)];
}

function logLineText(l: LogLine, colors: Colors): string {
  const text = sanitize(l.line);
  if (l.dropped > 0) return `${colors.yellow(`${sanitize(l.host) || 'fleet'} |`)} ${text}`;
  const who = `${l.host ? `${sanitize(l.host)}/` : ''}${sanitize(l.app)}#${l.instance}`;
  if (l.stream === LogStream.LOG_STREAM_ERR) return `${colors.red(`${who} err |`)} ${text}`;
  return `${colors.cyan(`${who} |`)} ${text}`;
}

function logSection(state: MonitState, bodyRows: number, colors: Colors): string[] {
  const app = state.logApp;
  let title = colors.bold('LOGS') + (app ? ` · ${colors.cyan(sanitize(app))}` : '');
  if (state.logError) title += ` ${colors.yellow(`(${sanitize(state.logError)}; retrying)`)}`;
  if (bodyRows <= 0) return [title];
  if (!app) return [title, colors.gray('  select a process')];
  if (state.logs.length === 0) return [title, colors.gray('  no lines yet')];
  return [title, ...state.logs.slice(-bodyRows).map((l) => logLineText(l, colors))];
}

function clock(ms: number): string {
  const d = new Date(ms);
  return [d.getHours(), d.getMinutes(), d.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
}

function headerLine(state: MonitState, opts: RenderOptions): string {
  const { colors } = opts;
  const hosts = state.data?.hosts ?? [];
  const ready = hosts.filter((h) => h.status === HostStatus.HOST_STATUS_READY).length;
  const online = state.rows.filter((r) => r.status === 'online').length;
  const left = `${colors.bold('fleet monit')} · ${sanitize(opts.title)} · ${hosts.length} host${hosts.length === 1 ? '' : 's'}, ${ready} ready · ${state.rows.length} process${state.rows.length === 1 ? '' : 'es'}, ${online} online`;
  const stale = state.error && state.data ? `updated ${formatDuration(Math.max(0, opts.now - state.data.atMs))} ago` : '';
  const right = stale ? colors.yellow(stale) : clock(opts.now);
  const room = opts.size.columns - displayWidth(left) - displayWidth(right);
  return room >= 2 ? left + ' '.repeat(room) + right : left;
}

function footerLine(state: MonitState, opts: RenderOptions): string {
  const { colors } = opts;
  const every = `every ${formatDuration(opts.intervalMs)}`;
  if (state.error) return `${colors.red(`! ${sanitize(state.error)}`)} ${colors.gray(`(retrying ${every})`)}${opts.keys === false ? '' : ' · q quit'}`;
  const help = opts.keys === false ? 'Ctrl-C quit (no keyboard: stdin is not a terminal)' : '↑↓ j/k select · PgUp/PgDn page · g/G first/last · q quit';
  return colors.gray(`${help} · ${every}`);
}

export function renderScreen(state: MonitState, opts: RenderOptions): Frame {
  const { columns, rows } = opts.size;
  if (columns < MIN_SIZE.columns || rows < MIN_SIZE.rows) {
    const lines = ['fleet monit: the terminal is too small', `${columns}x${rows}; it needs ${MIN_SIZE.columns}x${MIN_SIZE.rows}`, 'q quits'];
    return { lines: lines.slice(0, Math.max(0, rows)).map((l) => fitWidth(l, columns)), top: state.top, pageSize: state.pageSize };
  }
  const { colors } = opts;
  const row = selectedRow(state);
  const app = row && appOf(state, row);
  const inst = row?.instance === null ? undefined : app?.instances.find((i) => i.instance === row?.instance);
  const l = layout({ hosts: state.data?.hosts.length ?? 0, procs: state.rows.length, metrics: metricsOf(app, inst).length }, rows);
  const top = scrollTop(state.top, state.selected, l.procRows, state.rows.length);
  const lines = [
    headerLine(state, opts),
    ...hostSection(state.data?.hosts ?? [], l.hostRows, colors),
    ...procSection(state, l.procRows, top, columns, colors),
    ...metricSection(state, l.metricRows, colors),
    ...logSection(state, l.logRows, colors),
  ].slice(0, rows - 1);
  // The log section fills what the others left; the footer sits on the last row.
  while (lines.length < rows - 1) lines.push('');
  lines.push(footerLine(state, opts));
  return { lines: lines.map((line) => fitWidth(line, columns)), top, pageSize: l.procRows };
}
