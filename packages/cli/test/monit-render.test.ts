// The fleet monit screen as lines: sections, selection, scrolling, custom
// metrics, and every line inside the terminal whatever its size.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppMetric, HostStatus, InstanceStatus, LogStream, MetricKind } from '@fleet/protocol';
import { makeColors } from '../src/format/color';
import { layout, MIN_SIZE, renderScreen, type RenderOptions } from '../src/monit/monit-render';
import { applyKey, followingLogs, initialState, type MonitData, type MonitState, withData, withError, withLogLine } from '../src/monit/monit-state';
import { displayWidth } from '../src/monit/screen-text';
import { app, fleetData, host, inst, logLine, NOW } from './monit-fixtures';

const plain = makeColors(false);
const opts = (columns = 120, rows = 40, over: Partial<RenderOptions> = {}): RenderOptions => ({ size: { columns, rows }, colors: plain, now: NOW, title: 'prod', intervalMs: 1000, ...over });
const stateOf = (data: MonitData = fleetData()): MonitState => withData(initialState(), data);
const strip = (s: string): string => s.replace(/\u001b\[[0-9;?]*[A-Za-z]/g, '');
const text = (lines: string[]): string => lines.map((l) => strip(l).trimEnd()).join('\n');

test('the screen: header, every host, every process, metrics and logs of the selected app, the keys', () => {
  const s = withLogLine(followingLogs(stateOf(), 'api'), logLine('api', 'GET / 200'));
  const { lines } = renderScreen(s, opts());
  assert.equal(lines.length, 40, 'exactly the terminal’s rows');
  const t = text(lines);
  assert.match(lines[0], /^fleet monit · prod · 3 hosts, 3 ready · 7 processes, 7 online +\d\d:\d\d:\d\d$/);
  assert.match(t, /^HOSTS$/m);
  assert.match(t, /^ {2}host +status +load +cpus +memory +disk +apps +procs$/m);
  assert.match(t, /^ {2}web1 +ready +0\.50 +4 +2\.0GB\/8\.0GB 25% +25\.0GB\/100\.0GB 25% +1 +2$/m);
  assert.match(t, /^ {2}host +app +# +status +cpu +mem +↺ +uptime +lag +heap$/m);
  assert.match(t, /^> web1 +api +0 +online +1\.5% +40\.0MB +0 +1m5s +- +-/m, 'selected, marked');
  assert.match(t, /^ {2}web3 +worker|^ {2}web3 +api +1 +online/m);
  assert.match(t, /^METRICS · api on web1$/m);
  assert.match(t, /none reported/);
  assert.match(t, /^LOGS · api$/m);
  assert.match(t, /^web1\/api#0 \| GET \/ 200$/m);
  assert.match(lines.at(-1)!, /q quit · every 1s$/);
  assert.ok(lines[8].startsWith('\u001b[7m> web1'), 'the selected row in inverse video');
  assert.equal(displayWidth(lines[8]), 120, 'the highlight spans the row');
});

test('lag and heap once instances report them; "-" before', () => {
  const data = fleetData();
  data.apps[0].instances[0] = inst('web3', 'api', 1, { eventLoopLagMs: 12.4, heapUsedBytes: 10 * 1024 ** 2, heapTotalBytes: 20 * 1024 ** 2 });
  data.apps[0].instances[1] = inst('web3', 'api', 0, { eventLoopLagMs: 1500 });
  data.apps[2].instances = [inst('web2', 'api', 0, { eventLoopLagMs: 2.34 }), inst('web2', 'api', 1, { eventLoopLagMs: 9.96 })];
  const t = text(renderScreen(stateOf(data), opts()).lines);
  assert.match(t, /web3 +api +1 +online .* 12ms +10\.0MB\/20\.0MB$/m);
  assert.match(t, /web3 +api +0 +online .* 1s +-$/m);
  assert.match(t, /web1 +api +0 +online .* - +-$/m);
  assert.match(t, /web2 +api +0 +online .* 2\.3ms +-$/m, 'a tenth below 10ms');
  assert.match(t, /web2 +api +1 +online .* 10ms +-$/m, 'rounded like the larger ones, not "10.0ms"');
});

test('stopped and errored processes show no cpu, memory or uptime; down hosts no load, with their problem', () => {
  const data = fleetData();
  data.hosts[2] = host('web3', { status: HostStatus.HOST_STATUS_DOWN, problem: 'no heartbeat for 30s' });
  data.apps.push(app('web2', 'idle', 4, []));
  data.apps[1].instances[0] = inst('web1', 'api', 1, { status: InstanceStatus.INSTANCE_STATUS_ERRORED, pid: 0, restarts: 15 });
  const t = text(renderScreen(stateOf(data), opts(140)).lines);
  assert.match(t, /web3 +down +- +4 .* no heartbeat for 30s$/m);
  assert.match(t, /host +status .* procs +problem$/m);
  assert.match(t, /web1 +api +1 +errored +- +- +15 +- +- +-$/m);
  assert.match(t, /web2 +idle +- +stopped +- +- +0 +- +- +-$/m);
  assert.match(t, /3 hosts, 2 ready · 8 processes, 6 online/);
});

test('the selection moves the marker, and the metrics and log title follow it', () => {
  let s = stateOf();
  s = applyKey(applyKey(s, 'down'), 'down');
  s = followingLogs(s, 'worker');
  const t = text(renderScreen(s, opts()).lines);
  assert.match(t, /^ {2}web1 +api +0/m);
  assert.match(t, /^> web1 +worker +0/m);
  assert.match(t, /^METRICS · worker on web1$/m);
  assert.match(t, /^LOGS · worker$/m);
  assert.match(t, /no lines yet/);
});

test('custom metrics of the selected app: app totals, the selected instance’s own, sorted by name', () => {
  const data = fleetData();
  const hist = AppMetric.fromPartial({ name: 'latency_ms', kind: MetricKind.METRIC_KIND_HISTOGRAM, bounds: [10, 100], buckets: [5, 4, 1], count: 10, sum: 400, help: 'request time' });
  const total = [
    AppMetric.fromPartial({ name: 'requests', kind: MetricKind.METRIC_KIND_COUNTER, value: 300 }),
    AppMetric.fromPartial({ name: 'queue', kind: MetricKind.METRIC_KIND_GAUGE, value: 7 }),
    AppMetric.fromPartial({ name: 'rps', kind: MetricKind.METRIC_KIND_METER, value: 4.5, count: 900 }),
    hist,
  ];
  data.apps[1] = app('web1', 'api', 0, [inst('web1', 'api', 0, { metrics: [AppMetric.fromPartial({ name: 'requests', kind: MetricKind.METRIC_KIND_COUNTER, value: 120 })] }), inst('web1', 'api', 1)], total);
  const t = text(renderScreen(stateOf(data), opts()).lines);
  assert.match(t, /^ {2}name +kind +all instances +#0 +help$/m);
  const rows = t.split('\n').filter((l) => /^ {2}(latency_ms|queue|requests|rps) /.test(l));
  assert.deepEqual(rows.map((l) => l.trim().split(/\s+/)[0]), ['latency_ms', 'queue', 'requests', 'rps']);
  assert.match(t, /requests +counter +300 +120/);
  assert.match(t, /queue +gauge +7 +-/);
  assert.match(t, /rps +meter +4\.5\/s \(900 total\)/);
  assert.match(t, /latency_ms +histogram +n=10 avg=40 p50≈10 p95>100 p99>100 +- +request time/);
});

test('an app with one instance: one value column', () => {
  const data = fleetData();
  data.apps[3] = app('web1', 'worker', 1, [inst('web1', 'worker', 0)], [AppMetric.fromPartial({ name: 'jobs', kind: MetricKind.METRIC_KIND_COUNTER, value: 5 })]);
  const s = applyKey(applyKey(stateOf(data), 'down'), 'down');
  const t = text(renderScreen(s, opts()).lines);
  assert.match(t, /^ {2}name +kind +value +help$/m);
  assert.match(t, /^ {2}jobs +counter +5$/m);
});

test('many processes: the table scrolls to keep the selection in view and says which rows it shows', () => {
  const data = fleetData();
  data.apps = [app('web1', 'api', 0, Array.from({ length: 60 }, (_, i) => inst('web1', 'api', i)))];
  let s = stateOf(data);
  let frame = renderScreen(s, opts(100, 30));
  const l = layout({ hosts: 3, procs: 60, metrics: 0 }, 30);
  assert.equal(frame.pageSize, l.procRows);
  assert.match(text(frame.lines), new RegExp(`^PROCESSES 1-${l.procRows} of 60$`, 'm'));
  s = { ...s, top: frame.top, pageSize: frame.pageSize };
  for (let i = 0; i < 20; i++) s = applyKey(s, 'down');
  frame = renderScreen(s, opts(100, 30));
  const t = text(frame.lines);
  assert.match(t, /^> web1 +api +20 /m, 'the selection is on screen');
  assert.equal(frame.top, 20 - l.procRows + 1);
  assert.match(t, new RegExp(`^PROCESSES ${frame.top + 1}-21 of 60$`, 'm'));
  s = applyKey({ ...s, top: frame.top, pageSize: frame.pageSize }, 'pageDown');
  assert.equal(s.selected, 20 + l.procRows);
  assert.equal(frame.lines.length, 30);
});

test('many hosts: the host table is capped, the rest counted', () => {
  const data = fleetData();
  data.hosts = Array.from({ length: 40 }, (_, i) => host(`h${String(i).padStart(2, '0')}`, i === 39 ? { status: HostStatus.HOST_STATUS_DISCONNECTED } : {}));
  const frame = renderScreen(stateOf(data), opts(100, 30));
  const t = text(frame.lines);
  const shown = t.split('\n').filter((l) => /^ {2}h\d\d /.test(l)).length;
  assert.equal(shown, layout({ hosts: 40, procs: 7, metrics: 0 }, 30).hostRows - 1);
  assert.match(t, new RegExp(`… ${40 - shown} more hosts, 1 not ready`));
  assert.equal(frame.lines.length, 30);
});

test('every line fits the terminal, at any size; narrow lines are cut, never wrapped', () => {
  const data = fleetData();
  data.apps[1] = app('web1', 'a-service-with-a-very-long-name-日本語', 0, [inst('web1', 'a-service-with-a-very-long-name-日本語', 0)]);
  let s = followingLogs(stateOf(data), 'a-service-with-a-very-long-name-日本語');
  s = withLogLine(s, logLine('a-service-with-a-very-long-name-日本語', `${'x'.repeat(300)}\u001b[2J\ttab`, { stream: LogStream.LOG_STREAM_ERR }));
  s = withError(s, 'cannot reach controller prod at 10.0.0.1:7070: connection refused '.repeat(3));
  for (const [columns, rows] of [[40, 12], [80, 24], [57, 19], [200, 60], [41, 13]]) {
    const { lines } = renderScreen(s, opts(columns, rows));
    assert.equal(lines.length, rows, `${columns}x${rows}: rows`);
    for (const line of lines) assert.ok(displayWidth(line) <= columns, `${columns}x${rows}: too wide: ${JSON.stringify(line)}`);
    for (const line of lines) assert.ok(!line.includes('\u001b[2J') && !line.includes('\t'), 'the app’s bytes are sanitized');
  }
});

test('a terminal below the minimum says so, inside its size', () => {
  const { lines } = renderScreen(stateOf(), opts(30, 5));
  assert.equal(lines[0], 'fleet monit: the terminal is t', 'cut at 30 columns');
  assert.ok(lines.every((l) => displayWidth(l) <= 30));
  assert.ok(lines.length <= 5);
  assert.equal(renderScreen(stateOf(), opts(MIN_SIZE.columns, MIN_SIZE.rows)).lines.length, MIN_SIZE.rows);
});

test('a failed refresh: the footer says why, the header how old the data is', () => {
  const s = withError(stateOf(), 'cannot reach controller');
  const { lines } = renderScreen(s, opts(120, 30, { now: NOW + 7000 }));
  assert.match(lines[0], /updated 7s ago$/);
  assert.equal(lines.at(-1), '! cannot reach controller (retrying every 1s) · q quit');
});

test('no apps, no hosts: what to do instead of empty tables', () => {
  const t = text(renderScreen(stateOf({ hosts: [], apps: [], atMs: NOW }), opts()).lines);
  assert.match(t, /no apps running; start one with: fleet start/);
  assert.match(t, /no hosts/);
  assert.match(t, /^METRICS\n {2}select a process$/m);
});

test('colours: status and sections coloured when enabled; without a keyboard the footer says Ctrl-C', () => {
  const { lines } = renderScreen(stateOf(), opts(120, 30, { colors: makeColors(true), keys: false }));
  assert.ok(lines.some((l) => l.includes('\u001b[32monline\u001b[39m')));
  assert.match(strip(lines.at(-1)!), /^Ctrl-C quit \(no keyboard: stdin is not a terminal\)/);
});

test('layout: sections share the rows; the log section takes what a short process table leaves', () => {
  const l = layout({ hosts: 3, procs: 6, metrics: 0 }, 50);
  assert.equal(l.hostRows, 3);
  assert.equal(l.procRows, 6);
  assert.equal(l.metricRows, 1);
  assert.equal(1 + 2 + l.hostRows + 2 + l.procRows + 1 + l.metricRows + 1 + l.logRows + 1, 50);
  const big = layout({ hosts: 100, procs: 500, metrics: 30 }, 50);
  assert.ok(big.procRows > big.hostRows && big.logRows >= 2);
  assert.equal(1 + 2 + big.hostRows + 2 + big.procRows + 2 + big.metricRows + 1 + big.logRows + 1, 50);
});
