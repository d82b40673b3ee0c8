import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { type LogLine, LogStream } from '@fleet/protocol';
import { NatsOutbox } from '../../src/link/nats-outbox';

function lines(n: number, tag: string): LogLine[] {
  return Array.from({ length: n }, (_, i) => ({ host: 'h', app: 'a', instance: 0, stream: LogStream.LOG_STREAM_OUT, line: `${tag}${i}`, timeMs: 0, dropped: 0 }));
}

const item = (n: number, tag: string) => ({ subject: 's', data: new Uint8Array(), lines: lines(n, tag), weight: n });

test('numbered from 1; the floor is the oldest unanswered; weight bounds what is in flight', () => {
  const o = new NatsOutbox();
  assert.equal(o.floor, 1);
  const a = o.add(item(3, 'a'), 0);
  const b = o.add(item(2, 'b'), 0);
  const c = o.add(item(1, 'c'), 0);
  assert.deepEqual([a.seq, b.seq, c.seq], [1, 2, 3]);
  assert.equal(o.weight, 6);
  assert.equal(o.floor, 1);
  // Answers out of order (two controllers): confirmed only once everything older is.
  assert.deepEqual(o.ack(2), []);
  assert.equal(o.floor, 1);
  assert.deepEqual(o.ack(1).map((f) => f.seq), [1, 2]);
  assert.equal(o.floor, 3);
  assert.equal(o.weight, 1);
  assert.deepEqual(o.ack(2), [], 'an answer twice');
  assert.deepEqual(o.ack(3).map((f) => f.seq), [3]);
  assert.equal(o.floor, 4);
  assert.equal(o.size, 0);
});

test('unanswered past the timeout, or past a retry time after "no responders", is due again', () => {
  const o = new NatsOutbox();
  const a = o.add(item(1, 'a'), 1000);
  const b = o.add(item(1, 'b'), 1500);
  assert.deepEqual(o.due(5999, 5000), []);
  assert.deepEqual(o.due(6000, 5000).map((f) => f.seq), [a.seq]);
  o.retryLater(b.seq, 1600, 1000);
  assert.deepEqual(o.due(2599, 5000), []);
  assert.deepEqual(o.due(2600, 5000).map((f) => f.seq), [b.seq]);
  o.resent(b, 2600);
  assert.equal(b.resend, true);
  assert.deepEqual(o.due(2601, 5000), []);
  assert.deepEqual(o.all().map((f) => f.seq), [a.seq, b.seq]);
});
