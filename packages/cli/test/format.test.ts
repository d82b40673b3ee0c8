import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AppSpec, ExecMode, InstanceStatus, ListResponse, summarizeApps, type AppInfo, type InstanceInfo } from '@fleet/protocol';
import { formatBytes } from '../src/format/bytes';
import { makeColors, shouldColor, visibleLength } from '../src/format/color';
import { formatDuration, formatMs } from '../src/format/duration';
import { maskEnv } from '../src/format/env';
import { formatPercent } from '../src/format/percent';
import { processRows, renderProcessTable } from '../src/format/process-rows';
import { renderResults } from '../src/format/results';
import { renderLogLine } from '../src/format/log-line';
import { LogStream } from '@fleet/protocol';
import { statusWord } from '../src/format/status';
import { renderTable } from '../src/format/table';

const plain = makeColors(false);

test('bytes: binary units, one decimal, carried up at the edge', () => {
  assert.equal(formatBytes(0), '0B');
  assert.equal(formatBytes(-5), '0B');
  assert.equal(formatBytes(512), '512B');
  assert.equal(formatBytes(1024), '1.0KB');
  assert.equal(formatBytes(1536), '1.5KB');
  assert.equal(formatBytes(45.2 * 1024 * 1024), '45.2MB');
  assert.equal(formatBytes(1024 * 1024 - 1), '1.0MB');
  assert.equal(formatBytes(3 * 1024 ** 3), '3.0GB');
});

test('durations: largest unit then the next one', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(250), '250ms');
  assert.equal(formatDuration(45_000), '45s');
  assert.equal(formatDuration(60_000), '1m');
  assert.equal(formatDuration(192_000), '3m12s');
  assert.equal(formatDuration(5 * 3_600_000 + 3 * 60_000 + 10_000), '5h3m');
  assert.equal(formatDuration(2 * 86_400_000 + 4 * 3_600_000), '2d4h');
  assert.equal(formatMs(1600), '1600ms');
  assert.equal(formatMs(3000), '3s');
  assert.equal(formatMs(90_000), '1m30s');
  assert.equal(formatMs(0), '0');
});

test('percent', () => {
  assert.equal(formatPercent(0), '0%');
  assert.equal(formatPercent(0.44), '0.4%');
  assert.equal(formatPercent(12.6), '13%');
});

test('table: columns aligned on visible width, escape codes ignored', () => {
  const colored = makeColors(true);
  const out = renderTable(
    [{ header: 'name' }, { header: 'n', align: 'right' }, { header: 'status' }],
    [
      ['api', '1', colored.green('online')],
      ['worker-long', '12', 'stopped'],
    ],
  );
  const lines = out.trimEnd().split('\n').map((l) => l.replace(/\u001b\[[0-9;]*m/g, ''));
  assert.deepEqual(lines, ['name          n  status', 'api           1  online', 'worker-long  12  stopped']);
  assert.equal(visibleLength(colored.red('abc')), 3);
});

test('colour only for a TTY without NO_COLOR', () => {
  assert.equal(shouldColor({ isTTY: true }, {}), true);
  assert.equal(shouldColor({ isTTY: true }, { NO_COLOR: '1' }), false);
  assert.equal(shouldColor({ isTTY: true }, { NO_COLOR: '' }), true);
  assert.equal(shouldColor({ isTTY: false }, {}), false);
  assert.equal(shouldColor({}, {}), false);
  assert.equal(makeColors(false).red('x'), 'x');
});

test('status words are the lowercase PM2 vocabulary', () => {
  assert.equal(statusWord(InstanceStatus.INSTANCE_STATUS_WAITING_RESTART), 'waiting-restart');
  assert.equal(statusWord(InstanceStatus.INSTANCE_STATUS_ONLINE), 'online');
  assert.equal(statusWord(InstanceStatus.INSTANCE_STATUS_ERRORED), 'errored');
});

test('env masking keeps keys only', () => {
  assert.deepEqual(maskEnv({ B: 'secret', A: 'x' }), { A: '****', B: '****' });
});

function instance(i: number, extra: Partial<InstanceInfo> = {}): InstanceInfo {
  return {
    app: 'api',
    appId: 3,
    instance: i,
    pid: 1000 + i,
    status: InstanceStatus.INSTANCE_STATUS_ONLINE,
    cpuPercent: 1.5,
    memoryBytes: 50 * 1024 * 1024,
    restarts: 2,
    unstableRestarts: 0,
    uptimeMs: 65_000,
    execMode: ExecMode.EXEC_MODE_UNSPECIFIED,
    createdMs: 1_700_000_000_000,
    startedMs: 1_700_000_000_000,
    lastExitCode: 0,
    lastExitSignal: '',
    events: [],
    host: '',
    release: 0,
    eventLoopLagMs: 0,
    heapUsedBytes: 0,
    heapTotalBytes: 0,
    metrics: [],
    ...extra,
  };
}

function app(appId: number, name: string, instances: InstanceInfo[], execMode = ExecMode.EXEC_MODE_CLUSTER): AppInfo {
  return {
    appId,
    spec: { name, execMode } as AppInfo['spec'],
    desired: 'online',
    instances,
    runnerPid: 0,
    runnerVersion: '',
    reloading: false,
    host: '',
    hostEnv: {},
    metrics: [],
  };
}

test('process rows: one per instance, a stopped row for an app without instances, sorted', () => {
  const rows = processRows([app(3, 'api', [instance(1), instance(0)]), app(1, 'idle', [], ExecMode.EXEC_MODE_FORK)]);
  assert.deepEqual(
    rows.map((r) => [r.app, r.instance, r.status, r.execMode]),
    [
      ['idle', null, 'stopped', 'fork'],
      ['api', 0, 'online', 'cluster'],
      ['api', 1, 'online', 'cluster'],
    ],
  );
  assert.deepEqual(Object.keys(rows[1]).sort(), [
    'app', 'appId', 'cpuPercent', 'createdMs', 'execMode', 'host', 'instance', 'memoryBytes', 'pid', 'release', 'restarts', 'status', 'uptimeMs',
  ]);
  const table = renderProcessTable(rows, plain);
  assert.match(table, /^id\s+name\s+mode\s+#\s+pid\s+status\s+restarts\s+uptime\s+cpu\s+mem$/m);
  assert.match(table, /3\s+api\s+cluster\s+0\s+1000\s+online\s+2\s+1m5s\s+1.5%\s+50.0MB/);
  assert.match(table, /1\s+idle\s+fork\s+-\s+-\s+stopped/);
  assert.match(renderProcessTable([], plain), /no apps/);
});

test('process rows: the summary list (what ls asks for) gives the same rows as the full one, with far fewer bytes', () => {
  const full = [
    app(3, 'api', [
      instance(0, {
        release: 7,
        events: [{ timeMs: 1, from: InstanceStatus.INSTANCE_STATUS_LAUNCHING, to: InstanceStatus.INSTANCE_STATUS_ONLINE, reason: 'started' }],
      }),
      instance(1, { host: 'web2' }),
    ]),
    app(1, 'idle', [], ExecMode.EXEC_MODE_FORK),
  ].map((a) => ({
    ...a,
    spec: AppSpec.fromPartial({ ...a.spec, script: '/srv/api/server.js', env: { TOKEN: 'x'.repeat(200) }, release: 7 }),
    hostEnv: { REGION: 'eu' },
  }));
  const summary = summarizeApps(full);
  assert.deepEqual(processRows(summary), processRows(full));
  const bytes = (apps: AppInfo[]): number => ListResponse.encode({ apps }).finish().length;
  assert.ok(bytes(summary) * 3 < bytes(full), `${bytes(summary)} bytes summarized vs ${bytes(full)}`);
});

test('results: successes on out, failures on err', () => {
  const r = renderResults(
    [
      { app: 'api', appId: 0, ok: true, error: '', errorCode: '', message: '', host: '' },
      { app: 'web', appId: 1, ok: false, error: 'did not become ready in 3s', errorCode: 'FAILED', message: '', host: '' },
    ],
    'restarted',
    plain,
  );
  assert.equal(r.out, '✓ api restarted\n');
  assert.equal(r.err, '✗ web: did not become ready in 3s\n');
  assert.equal(r.failed, 1);
});

test('log lines: app#instance | line, err marked, host/ prefix from a fleet, drop notices', () => {
  const line = { app: 'api', instance: 2, stream: LogStream.LOG_STREAM_OUT, line: 'hello', timeMs: 1, host: 'web1', dropped: 0 };
  assert.equal(renderLogLine(line, plain), 'api#2 | hello\n');
  assert.equal(renderLogLine(line, plain, true), 'web1/api#2 | hello\n');
  assert.equal(renderLogLine({ ...line, app: '', dropped: 7, line: '[fleet] 7 lines dropped' }, plain, true), 'web1 | [fleet] 7 lines dropped\n');
  assert.equal(renderLogLine({ ...line, stream: LogStream.LOG_STREAM_ERR, host: '' }, plain), 'api#2 err | hello\n');
});

test('results: a daemon message shows when it adds something', () => {
  const base = { app: 'api', appId: 0, ok: true, error: '', errorCode: '', message: 'reloaded', host: '' };
  assert.equal(renderResults([base], 'reloaded', plain).out, '✓ api reloaded\n');
  assert.equal(renderResults([{ ...base, message: 'flushed' }], 'logs flushed', plain).out, '✓ api logs flushed\n');
  assert.equal(renderResults([{ ...base, message: 'already online' }], 'started', plain).out, '✓ api started: already online\n');
});
