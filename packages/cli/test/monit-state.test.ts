// fleet monit without a terminal: the state transitions, the keys, the text
// measuring that keeps lines inside the screen, and the metric cells.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppMetric, InstanceStatus, MetricKind } from '@fleet/protocol';
import { parseKeys } from '../src/monit/keys';
import { formatMetricValue, formatNumber, histogramQuantile } from '../src/format/metric-value';
import { applyKey, followingLogs, initialState, LOG_KEEP, procRows, scrollTop, selectedApp, selectedRow, withData, withError, withLogLine } from '../src/monit/monit-state';
import { charWidth, displayWidth, fitWidth, sanitize } from '../src/monit/screen-text';
import { app, fleetData, inst, logLine, NOW } from './monit-fixtures';

test('rows: by host, then app id, then instance; an app with no instance keeps a stopped row', () => {
  const data = fleetData();
  data.apps.push(app('web2', 'idle', 5, []));
  assert.deepEqual(
    procRows(data.apps).map((r) => r.key),
    ['web1/api#0', 'web1/api#1', 'web1/worker#0', 'web2/api#0', 'web2/api#1', 'web2/idle#-', 'web3/api#0', 'web3/api#1'],
  );
  const idle = procRows(data.apps).find((r) => r.app === 'idle')!;
  assert.equal(idle.status, 'stopped');
  assert.equal(idle.instance, null);
});

test('keys move the selection and stop at both ends; a page is what the last frame showed', () => {
  let s = withData(initialState(), fleetData());
  assert.equal(selectedRow(s)?.key, 'web1/api#0');
  s = applyKey(s, 'up');
  assert.equal(s.selected, 0, 'stops at the top');
  s = applyKey(applyKey(s, 'down'), 'down');
  assert.equal(selectedRow(s)?.key, 'web1/worker#0');
  assert.equal(selectedApp(s), 'worker');
  s = applyKey(s, 'end');
  assert.equal(selectedRow(s)?.key, 'web3/api#1');
  s = applyKey(s, 'down');
  assert.equal(selectedRow(s)?.key, 'web3/api#1', 'stops at the bottom');
  s = applyKey({ ...s, pageSize: 3 }, 'pageUp');
  assert.equal(s.selected, 3);
  s = applyKey(s, 'pageUp');
  assert.equal(s.selected, 0);
  s = applyKey(s, 'pageDown');
  assert.equal(s.selected, 3);
  assert.equal(applyKey(s, 'home').selected, 0);
  assert.equal(applyKey(s, 'quit'), s, 'quit is the caller’s');
});

test('a refresh keeps the same process selected, wherever it moved; a vanished one leaves the selection in place', () => {
  let s = withData(initialState(), fleetData());
  s = applyKey(applyKey(applyKey(s, 'down'), 'down'), 'down'); // web2/api#0
  assert.equal(selectedRow(s)?.key, 'web2/api#0');
  const more = fleetData();
  more.apps.push(app('web1', 'cron', 2, [inst('web1', 'cron', 0)]));
  s = withData(s, more);
  assert.equal(selectedRow(s)?.key, 'web2/api#0', 'followed to its new position');
  assert.equal(s.selected, 4);
  const fewer = fleetData();
  fewer.apps = fewer.apps.filter((a) => a.host !== 'web2');
  s = withData(s, fewer);
  assert.equal(s.selected, 4, 'same position');
  assert.equal(selectedRow(s)?.key, 'web3/api#1');
  s = withData(s, { hosts: [], apps: [], atMs: NOW });
  assert.equal(s.selected, 0);
  assert.equal(selectedRow(s), undefined);
  assert.equal(selectedApp(s), undefined);
});

test('an error keeps the data; the next refresh clears it', () => {
  let s = withData(initialState(), fleetData());
  s = withError(s, 'cannot reach controller');
  assert.equal(s.rows.length, 7);
  assert.equal(s.error, 'cannot reach controller');
  assert.equal(withData(s, fleetData()).error, undefined);
});

test('log lines: only the followed app’s, bounded; following another app starts empty', () => {
  let s = followingLogs(withData(initialState(), fleetData()), 'api');
  s = withLogLine(s, logLine('api', 'one'));
  s = withLogLine(s, logLine('worker', 'late line of the previous stream'));
  s = withLogLine(s, logLine('', '3 lines dropped', { dropped: 3 }));
  assert.deepEqual(
    s.logs.map((l) => l.line),
    ['one', '3 lines dropped'],
  );
  for (let i = 0; i < LOG_KEEP + 10; i++) s = withLogLine(s, logLine('api', `n${i}`));
  assert.equal(s.logs.length, LOG_KEEP);
  assert.equal(s.logs.at(-1)?.line, `n${LOG_KEEP + 9}`);
  s = followingLogs(s, 'worker');
  assert.equal(s.logs.length, 0);
  assert.equal(s.logApp, 'worker');
});

test('scrolling moves as little as keeps the selection in view', () => {
  assert.equal(scrollTop(0, 0, 5, 20), 0);
  assert.equal(scrollTop(0, 4, 5, 20), 0);
  assert.equal(scrollTop(0, 5, 5, 20), 1);
  assert.equal(scrollTop(10, 12, 5, 20), 10, 'inside the window: unchanged');
  assert.equal(scrollTop(10, 3, 5, 20), 3);
  assert.equal(scrollTop(18, 19, 5, 20), 15, 'never past the last full window');
  assert.equal(scrollTop(3, 1, 10, 4), 0, 'everything fits');
});

test('keys: arrows in both spellings, vi keys, pages, several keys in one read, unknown bytes skipped', () => {
  assert.deepEqual(parseKeys('\u001b[A\u001b[B\u001bOA\u001bOB'), ['up', 'down', 'up', 'down']);
  assert.deepEqual(parseKeys('jjk'), ['down', 'down', 'up']);
  assert.deepEqual(parseKeys('\u001b[5~\u001b[6~'), ['pageUp', 'pageDown']);
  assert.deepEqual(parseKeys('\u001b[H\u001b[F\u001b[1~\u001b[4~gG'), ['home', 'end', 'home', 'end', 'home', 'end']);
  assert.deepEqual(parseKeys('q'), ['quit']);
  assert.deepEqual(parseKeys('\u0003'), ['quit'], 'Ctrl-C in raw mode');
  assert.deepEqual(parseKeys('\u000c'), ['redraw']);
  assert.deepEqual(parseKeys('x\u001b[1;5Cz\u001b'), [], 'Ctrl-Right, other letters and a lone Esc do nothing');
  assert.deepEqual(parseKeys('\u001b[1;5Cj'), ['down'], 'a key after an unknown sequence still counts');
});

test('screen text: escapes take no columns, wide characters two, cuts keep sequences whole', () => {
  assert.equal(displayWidth('\u001b[32monline\u001b[39m'), 6);
  assert.equal(displayWidth('日本'), 4);
  assert.equal(displayWidth('e\u0301'), 1, 'combining accent');
  assert.equal(charWidth(0x1f600), 2, 'emoji');
  assert.equal(fitWidth('abcdef', 4), 'abcd');
  assert.equal(fitWidth('ab', 4, true), 'ab  ');
  assert.equal(fitWidth('日本語', 5), '日本', 'a wide character that would straddle the edge goes');
  assert.equal(fitWidth('日本語', 5, true), '日本 ');
  const cut = fitWidth('\u001b[31mabcdef\u001b[39m', 3);
  assert.equal(cut, '\u001b[31mabc\u001b[0m', 'cut inside a colour: reset added');
  assert.equal(fitWidth('\u001b[31mab\u001b[39m', 3), '\u001b[31mab\u001b[39m', 'not cut: unchanged');
  assert.equal(fitWidth('abc', 0), '');
});

test('sanitize: an app’s own escape codes, tabs and control characters cannot reach the screen', () => {
  assert.equal(sanitize('\u001b[2J\u001b[Hred \u001b[31mtext\u001b[0m'), 'red text');
  assert.equal(sanitize('a\tb'), 'a    b');
  assert.equal(sanitize('progress 10%\rprogress 20%\u0007'), 'progress 10%progress 20%');
  assert.equal(sanitize('\u001b]0;title\u0007ok'), 'ok', 'OSC title sequence');
});

test('numbers: short for a narrow column', () => {
  assert.equal(formatNumber(0), '0');
  assert.equal(formatNumber(42), '42');
  assert.equal(formatNumber(1234), '1234');
  assert.equal(formatNumber(12_345), '12.3k');
  assert.equal(formatNumber(4_500_000), '4.5M');
  assert.equal(formatNumber(250_000), '250k');
  assert.equal(formatNumber(3.14159), '3.14');
  assert.equal(formatNumber(0.012345), '0.0123');
  assert.equal(formatNumber(123.7), '124');
  assert.equal(formatNumber(-2.5), '-2.5');
});

test('histograms: percentiles estimated inside the bucket that holds them; the +Inf bucket says "above"', () => {
  // 10 observations: 5 in (0,10], 4 in (10,100], 1 above 100.
  const m = AppMetric.fromPartial({ kind: MetricKind.METRIC_KIND_HISTOGRAM, bounds: [10, 100], buckets: [5, 4, 1], count: 10, sum: 400 });
  assert.deepEqual(histogramQuantile(m, 0.5), { value: 10, above: false });
  assert.deepEqual(histogramQuantile(m, 0.25), { value: 5, above: false });
  assert.deepEqual(histogramQuantile(m, 0.95), { value: 100, above: true });
  assert.equal(histogramQuantile({ bounds: [1], buckets: [0, 0] }, 0.5), undefined, 'no observations');
  assert.equal(formatMetricValue(m), 'n=10 avg=40 p50≈10 p95>100 p99>100');
  assert.equal(formatMetricValue(AppMetric.fromPartial({ kind: MetricKind.METRIC_KIND_HISTOGRAM })), 'n=0');
});

test('metric cells: counters and gauges as numbers, meters as a rate with their total', () => {
  assert.equal(formatMetricValue(AppMetric.fromPartial({ kind: MetricKind.METRIC_KIND_COUNTER, value: 15_300 })), '15.3k');
  assert.equal(formatMetricValue(AppMetric.fromPartial({ kind: MetricKind.METRIC_KIND_GAUGE, value: 0.75 })), '0.75');
  assert.equal(formatMetricValue(AppMetric.fromPartial({ kind: MetricKind.METRIC_KIND_METER, value: 12.25, count: 5000 })), '12.3/s (5000 total)');
});

test('a row carries lag and heap from the instance; 0 means not reported', () => {
  const rows = procRows([app('h', 'a', 0, [inst('h', 'a', 0, { eventLoopLagMs: 2.5, heapUsedBytes: 10, heapTotalBytes: 20, status: InstanceStatus.INSTANCE_STATUS_ERRORED })])]);
  assert.equal(rows[0].eventLoopLagMs, 2.5);
  assert.equal(rows[0].heapTotalBytes, 20);
  assert.equal(rows[0].status, 'errored');
});
