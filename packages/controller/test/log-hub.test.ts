import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { LogStream, type LogLine } from '@fleet/protocol';
import { LogHub, matchesLog, mergeByTime, type LogFilter } from '../src/log-hub';

const { LOG_STREAM_OUT: OUT, LOG_STREAM_ERR: ERR, LOG_STREAM_UNSPECIFIED: ANY } = LogStream;
const T0 = 1_700_000_000_000;

function line(host: string, app: string, text: string, timeMs: number, stream = OUT): LogLine {
  return { host, app, instance: 0, stream, line: text, timeMs, dropped: 0 };
}

function dropNotice(host: string, n: number, timeMs: number): LogLine {
  return { host, app: '', instance: 0, stream: ERR, line: `[fleet] ${n} log lines from ${host} were dropped`, timeMs, dropped: n };
}

const every: LogFilter = { stream: ANY };
const texts = (lines: LogLine[]): string[] => lines.map((l) => l.line);

function collect(hub: LogHub, filter: LogFilter): { got: LogLine[]; stop: () => void } {
  const got: LogLine[] = [];
  const stop = hub.subscribe(filter, (l) => got.push(l));
  return { got, stop };
}

test('matchesLog: each filter narrows on its own', () => {
  const l = line('web1', 'api', 'GET /health 200', T0);
  assert.ok(matchesLog(every, l));
  assert.ok(matchesLog({ stream: ANY, hosts: new Set(['web1', 'web2']) }, l));
  assert.ok(!matchesLog({ stream: ANY, hosts: new Set(['web2']) }, l));
  assert.ok(matchesLog({ stream: ANY, apps: new Set(['api']) }, l));
  assert.ok(!matchesLog({ stream: ANY, apps: new Set(['worker']) }, l));
  assert.ok(matchesLog({ stream: OUT }, l));
  assert.ok(!matchesLog({ stream: ERR }, l));
  assert.ok(matchesLog({ stream: ANY, grep: '/health' }, l));
  assert.ok(!matchesLog({ stream: ANY, grep: 'POST' }, l));
  assert.ok(matchesLog({ stream: ANY, grep: '' }, l), 'an empty grep matches everything');
});

test('a drop notice passes app, stream and grep filters (lines are missing) but not a host filter', () => {
  const d = dropNotice('web1', 12, T0);
  assert.ok(matchesLog({ stream: OUT, apps: new Set(['api']), grep: 'GET /orders' }, d));
  assert.ok(matchesLog({ stream: ANY, hosts: new Set(['web1']) }, d));
  assert.ok(!matchesLog({ stream: ANY, hosts: new Set(['web2']) }, d));
});

test('subscribers get the lines their filter selects, in publish order', () => {
  const hub = new LogHub();
  const all = collect(hub, every);
  const web1Api = collect(hub, { stream: ANY, hosts: new Set(['web1']), apps: new Set(['api']) });
  const errors = collect(hub, { stream: ERR });
  const grep = collect(hub, { stream: ANY, grep: 'timeout' });
  hub.publish([
    line('web1', 'api', 'a1', T0),
    line('web2', 'api', 'b1', T0 + 1),
    line('web1', 'worker', 'c1 timeout', T0 + 2, ERR),
    line('web1', 'api', 'a2 timeout', T0 + 3, ERR),
  ]);
  hub.publish([line('web1', 'api', 'a3', T0 + 4)]);
  assert.deepEqual(texts(all.got), ['a1', 'b1', 'c1 timeout', 'a2 timeout', 'a3']);
  assert.deepEqual(texts(web1Api.got), ['a1', 'a2 timeout', 'a3']);
  assert.deepEqual(texts(errors.got), ['c1 timeout', 'a2 timeout']);
  assert.deepEqual(texts(grep.got), ['c1 timeout', 'a2 timeout']);
  assert.equal(hub.subscriberCount, 4);
});

test('a drop notice reaches a follower filtered by app, stream and grep on its host', () => {
  const hub = new LogHub();
  const f = collect(hub, { stream: OUT, hosts: new Set(['web1']), apps: new Set(['api']), grep: 'orders' });
  hub.publish([line('web1', 'api', 'GET /health', T0), dropNotice('web1', 7, T0 + 1), dropNotice('web2', 3, T0 + 2)]);
  assert.equal(f.got.length, 1);
  assert.equal(f.got[0].dropped, 7);
  assert.equal(f.got[0].host, 'web1');
});

test('unsubscribe stops delivery to that subscriber only', () => {
  const hub = new LogHub();
  const a = collect(hub, every);
  const b = collect(hub, every);
  hub.publish([line('h', 'x', '1', T0)]);
  a.stop();
  assert.equal(hub.subscriberCount, 1);
  hub.publish([line('h', 'x', '2', T0 + 1)]);
  assert.deepEqual(texts(a.got), ['1']);
  assert.deepEqual(texts(b.got), ['1', '2']);
  b.stop();
  b.stop();
  assert.equal(hub.subscriberCount, 0);
});

test('recent(n): the last n lines of each host/app window, merged by time', () => {
  const hub = new LogHub();
  for (let i = 0; i < 5; i++) {
    hub.publish([
      line('web1', 'api', `web1-api-${i}`, T0 + i * 10),
      line('web2', 'api', `web2-api-${i}`, T0 + i * 10 + 5),
      line('web1', 'worker', `web1-worker-${i}`, T0 + i * 10 + 1),
    ]);
  }
  assert.deepEqual(texts(hub.recent(every, 2)), [
    'web1-api-3',
    'web1-worker-3',
    'web2-api-3',
    'web1-api-4',
    'web1-worker-4',
    'web2-api-4',
  ]);
  assert.deepEqual(texts(hub.recent({ stream: ANY, hosts: new Set(['web1']), apps: new Set(['api']) }, 3)), [
    'web1-api-2',
    'web1-api-3',
    'web1-api-4',
  ]);
  assert.deepEqual(texts(hub.recent({ stream: ANY, apps: new Set(['api']) }, 1)), ['web1-api-4', 'web2-api-4']);
  assert.deepEqual(hub.recent(every, 0), []);
  assert.deepEqual(hub.recent(every, -5), []);
  assert.equal(hub.recent(every, 1000).length, 15);
});

test('recent(n) filters before counting: n matching lines, not n lines of which some match', () => {
  const hub = new LogHub();
  hub.publish([
    line('web1', 'api', 'error 1', T0, ERR),
    line('web1', 'api', 'ok', T0 + 1),
    line('web1', 'api', 'error 2', T0 + 2, ERR),
    line('web1', 'api', 'ok', T0 + 3),
    line('web1', 'api', 'ok', T0 + 4),
  ]);
  assert.deepEqual(texts(hub.recent({ stream: ERR }, 2)), ['error 1', 'error 2']);
  assert.deepEqual(texts(hub.recent({ stream: ANY, grep: 'error' }, 1)), ['error 2']);
});

test('recent(n) includes a host drop notice whatever the app filter, interleaved by time', () => {
  const hub = new LogHub();
  hub.publish([line('web1', 'api', 'before', T0), dropNotice('web1', 40, T0 + 5), line('web1', 'api', 'after', T0 + 10)]);
  hub.publish([line('web1', 'worker', 'other app', T0 + 7)]);
  const got = hub.recent({ stream: OUT, apps: new Set(['api']) }, 10);
  assert.deepEqual(texts(got), ['before', '[fleet] 40 log lines from web1 were dropped', 'after']);
  assert.deepEqual(texts(hub.recent({ stream: ANY, hosts: new Set(['web2']) }, 10)), []);
});

test('each window keeps only its newest windowLines lines, in order', () => {
  const hub = new LogHub({ windowLines: 3 });
  for (let i = 1; i <= 10; i++) hub.publish([line('web1', 'api', `a${i}`, T0 + i)]);
  hub.publish([line('web1', 'worker', 'w1', T0)]);
  assert.deepEqual(texts(hub.recent({ stream: ANY, apps: new Set(['api']) }, 100)), ['a8', 'a9', 'a10']);
  assert.deepEqual(texts(hub.recent(every, 2)), ['w1', 'a9', 'a10']);
});

test('windows beyond maxWindows go least recently written first', () => {
  const hub = new LogHub({ maxWindows: 2 });
  hub.publish([line('h1', 'a', 'h1a-1', T0)]);
  hub.publish([line('h2', 'a', 'h2a-1', T0 + 1)]);
  hub.publish([line('h1', 'a', 'h1a-2', T0 + 2)]); // h1/a is now the most recently written
  hub.publish([line('h3', 'a', 'h3a-1', T0 + 3)]); // evicts h2/a
  assert.deepEqual(texts(hub.recent(every, 10)), ['h1a-1', 'h1a-2', 'h3a-1']);
  hub.publish([line('h4', 'a', 'h4a-1', T0 + 4)]); // evicts h1/a
  assert.deepEqual(texts(hub.recent(every, 10)), ['h3a-1', 'h4a-1']);
});

test('eviction drops only the recent window; followers still get every line', () => {
  const hub = new LogHub({ maxWindows: 1, windowLines: 1 });
  const f = collect(hub, every);
  hub.publish([line('h1', 'a', '1', T0), line('h2', 'a', '2', T0 + 1), line('h1', 'a', '3', T0 + 2)]);
  assert.deepEqual(texts(f.got), ['1', '2', '3']);
  assert.deepEqual(texts(hub.recent(every, 10)), ['3']);
});

test('mergeByTime sorts by time and is stable for equal times', () => {
  const input = [
    line('web1', 'api', 'w1-first', T0 + 5),
    line('web1', 'api', 'w1-second', T0 + 5),
    line('web2', 'api', 'w2-early', T0 + 1),
    line('web1', 'api', 'w1-third', T0 + 5),
    line('web2', 'api', 'w2-late', T0 + 9),
  ];
  const copy = [...input];
  assert.deepEqual(texts(mergeByTime(input)), ['w2-early', 'w1-first', 'w1-second', 'w1-third', 'w2-late']);
  assert.deepEqual(input, copy, 'the input is left as it was');
  assert.deepEqual(mergeByTime([]), []);

  // Many lines of one time keep their order exactly.
  const same = Array.from({ length: 500 }, (_, i) => line('h', 'a', String(i), T0));
  assert.deepEqual(texts(mergeByTime(same)), same.map((l) => l.line));
});
