import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { type LogLine, LogStream } from '@fleet/protocol';
import { DeliveryLedger } from '../../src/nats/delivery-ledger';
import { batchLines, decodeRecent, encodeRecent, type LineStamps } from '../../src/nats/nats-intake';
import { lastPerWindow } from '../../src/nats/nats-log-feed';
import { ShownBatches } from '../../src/nats/shown-batches';

const OUT = LogStream.LOG_STREAM_OUT;

function line(host: string, app: string, text: string, timeMs: number): LogLine {
  return { host, app, instance: 0, stream: OUT, line: text, timeMs, dropped: 0 };
}

test('ledger: a message is taken once; below the floor everything counts as taken', () => {
  const l = new DeliveryLedger();
  assert.equal(l.add('a', 1, 1), true);
  assert.equal(l.add('a', 1, 1), false, 'the same message again');
  assert.equal(l.add('b', 1, 1), true, 'another agent numbers its own');
  assert.equal(l.has('a', 2), false);
  assert.equal(l.add('a', 3, 1), true);
  // The agent says everything below 3 is acknowledged: 2 was taken by a peer, it never comes again.
  l.raise('a', 3);
  assert.equal(l.has('a', 2), true);
  assert.equal(l.add('a', 2, 3), false);
  assert.equal(l.has('a', 3), true);
  // Many messages later, the numbers below the floor are forgotten, not kept.
  for (let s = 4; s < 2000; s++) l.add('a', s, s);
  assert.equal(l.has('a', 1500), true);
  assert.equal(l.has('a', 5000), false);
});

test('shown batches: marked once; the oldest count as shown past the bound', () => {
  const s = new ShownBatches(4);
  assert.equal(s.has('a', 7), false);
  s.mark('a', 7);
  assert.equal(s.has('a', 7), true);
  assert.equal(s.has('b', 7), false);
  for (const n of [8, 9, 10, 11]) s.mark('a', n);
  assert.equal(s.has('a', 3), true, 'older than what is kept');
  assert.equal(s.has('a', 12), false);
});

test('a batch as lines: host and app from the subject, a drop count first as a notice', () => {
  const lines = batchLines({ kind: 'logs', host: 'web3', app: 'api' }, { lines: [line('impostor', 'x', 'GET /', 5)], dropped: 0, seq: 0 }, 9);
  assert.deepEqual(lines.map((l) => [l.host, l.app, l.line]), [['web3', 'api', 'GET /']]);
  const notice = batchLines({ kind: 'logs', host: 'web3' }, { lines: [], dropped: 12, seq: 0 }, 9);
  assert.equal(notice.length, 1);
  assert.equal(notice[0].dropped, 12);
  assert.match(notice[0].line, /^\[fleet\] 12 log lines from web3 were dropped/);
});

test('peers answer with their window lines by message; stamps come back with them', () => {
  const stamps: LineStamps = new WeakMap();
  const a1 = line('web1', 'api', 'one', 1);
  const a2 = line('web1', 'api', 'two', 1);
  const g = line('web9', 'api', 'over gRPC', 2);
  const b1 = line('web2', 'api', 'three', 3);
  stamps.set(a1, { agent: 'A', seq: 4 });
  stamps.set(a2, stamps.get(a1)!);
  stamps.set(b1, { agent: 'B', seq: 1 });
  const answer = JSON.parse(JSON.stringify(encodeRecent([a1, a2, g, b1], stamps)));
  assert.deepEqual(answer.batches.map((b: { agent?: string; seq?: number; lines: unknown[] }) => [b.agent, b.seq, b.lines.length]), [['A', 4, 2], [undefined, undefined, 1], ['B', 1, 1]]);
  const back: LineStamps = new WeakMap();
  const lines = decodeRecent(answer, back);
  assert.deepEqual(lines.map((l) => l.line), ['one', 'two', 'over gRPC', 'three']);
  assert.deepEqual(back.get(lines[1]), { agent: 'A', seq: 4 });
  assert.equal(back.get(lines[2]), undefined);
});

test("several controllers' windows as one: the last n of each host and app, by time", () => {
  const mine = [line('web1', 'api', 'a1', 1), line('web1', 'api', 'a3', 3), line('web2', 'api', 'b2', 2)];
  const peer = [line('web1', 'api', 'a2', 2), line('web1', 'api', 'a4', 4), line('web2', 'api', 'b1', 1)];
  assert.deepEqual(lastPerWindow([mine, peer], 2).map((l) => l.line), ['b1', 'b2', 'a3', 'a4']);
  assert.deepEqual(lastPerWindow([mine], 1), mine, 'one window set: as it is');
  assert.deepEqual(lastPerWindow([], 5), []);
});
