import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { LogStream, type LogLine } from '@fleet/protocol';
import { BoundedWriter, type LineStream } from '../src/bounded-writer';

const T0 = 1_700_000_000_000;

/** A reader's stream: takes every line, and says "slow down" while `full` is set. */
class FakeStream extends EventEmitter implements LineStream {
  readonly written: LogLine[] = [];
  full = false;
  /** Becomes full after this many more writes (the write that fills it returns false). */
  fillAfter = Infinity;
  write(line: LogLine): boolean {
    this.written.push(line);
    if (--this.fillAfter <= 0) this.full = true;
    return !this.full;
  }
  /** The reader caught up; it takes `room` more lines before it pushes back again. */
  drain(room = Infinity): void {
    this.full = false;
    this.fillAfter = room;
    this.emit('drain');
  }
}

function line(n: number): LogLine {
  return { host: 'web1', app: 'api', instance: 0, stream: LogStream.LOG_STREAM_OUT, line: `line ${n}`, timeMs: T0 + n, dropped: 0 };
}

const texts = (lines: LogLine[]): string[] => lines.map((l) => l.line);
const range = (from: number, to: number): string[] => Array.from({ length: to - from + 1 }, (_, i) => `line ${from + i}`);

test('a reader that keeps up gets every line at once, in order', () => {
  const out = new FakeStream();
  const w = new BoundedWriter(out, 5);
  for (let i = 1; i <= 100; i++) w.write(line(i));
  assert.deepEqual(texts(out.written), range(1, 100));
  assert.equal(out.listenerCount('drain'), 0);
});

test('after the stream pushes back, lines wait for drain and then go out in order', () => {
  const out = new FakeStream();
  const w = new BoundedWriter(out, 100);
  out.fillAfter = 3;
  for (let i = 1; i <= 10; i++) w.write(line(i));
  assert.deepEqual(texts(out.written), range(1, 3), 'the write that returned false was delivered; the rest wait');
  assert.equal(out.listenerCount('drain'), 1, 'one drain listener, not one per queued line');
  out.drain();
  assert.deepEqual(texts(out.written), range(1, 10));
  assert.ok(out.written.every((l) => l.dropped === 0), 'nothing dropped, no notice');
  w.write(line(11));
  assert.deepEqual(texts(out.written), range(1, 11));
});

test('the queue is bounded: beyond max lines are dropped and one notice says how many', () => {
  const out = new FakeStream();
  const w = new BoundedWriter(out, 4, () => T0 + 999);
  out.fillAfter = 1;
  for (let i = 1; i <= 11; i++) w.write(line(i)); // 1 written, 2..5 queued, 6..11 dropped
  assert.deepEqual(texts(out.written), ['line 1']);
  out.drain();
  const notices = out.written.filter((l) => l.dropped > 0);
  assert.equal(notices.length, 1);
  assert.equal(notices[0].dropped, 6);
  assert.match(notices[0].line, /6 log lines were dropped/);
  assert.equal(notices[0].app, '', 'a notice passes every app filter of the reader');
  assert.equal(notices[0].timeMs, T0 + 999);
  assert.deepEqual(
    texts(out.written.filter((l) => l.dropped === 0)),
    ['line 1', 'line 2', 'line 3', 'line 4', 'line 5'],
    'the queued lines arrive complete and in order',
  );
  assert.equal(out.written.length, 6);
});

test('the drop count resets after it is reported and is counted afresh in the next stall', () => {
  const out = new FakeStream();
  const w = new BoundedWriter(out, 2);
  out.fillAfter = 1;
  for (let i = 1; i <= 6; i++) w.write(line(i)); // 1 written, 2-3 queued, 4-6 dropped
  out.drain();
  w.write(line(7));
  assert.deepEqual(out.written.map((l) => l.dropped), [0, 0, 0, 3, 0], 'the notice sits at the gap, after the queued lines');

  out.fillAfter = 1;
  for (let i = 8; i <= 12; i++) w.write(line(i)); // 8 written, 9-10 queued, 11-12 dropped
  out.drain();
  const notices = out.written.filter((l) => l.dropped > 0).map((l) => l.dropped);
  assert.deepEqual(notices, [3, 2]);
  assert.deepEqual(texts(out.written.filter((l) => l.dropped === 0)), ['line 1', 'line 2', 'line 3', 'line 7', 'line 8', 'line 9', 'line 10']);
});

test('a stream that pushes back again while the queue empties keeps the rest queued, in order', () => {
  const out = new FakeStream();
  const w = new BoundedWriter(out, 1_000);
  out.fillAfter = 1;
  for (let i = 1; i <= 20; i++) w.write(line(i));
  out.drain(3);
  assert.deepEqual(texts(out.written), range(1, 4), 'three taken, the third pushing back again');
  assert.equal(out.listenerCount('drain'), 1);
  // A line written while the reader is still slow joins the end of the queue, not the stream.
  w.write(line(21));
  assert.equal(out.written.length, 4);
  for (let drains = 0; out.written.length < 21 && drains < 20; drains++) out.drain(3);
  assert.deepEqual(texts(out.written), range(1, 21));
  out.drain();
  w.write(line(22));
  assert.deepEqual(texts(out.written), range(1, 22));
  assert.ok(out.written.every((l) => l.dropped === 0));
});

test('many lines through a slow reader: memory stays at max, the total is exact', () => {
  const out = new FakeStream();
  const w = new BoundedWriter(out, 100);
  out.fillAfter = 1;
  for (let i = 1; i <= 100_000; i++) w.write(line(i));
  assert.equal(out.written.length, 1);
  out.drain();
  const notice = out.written.find((l) => l.dropped > 0)!;
  const delivered = out.written.filter((l) => l.dropped === 0);
  assert.equal(delivered.length, 101);
  assert.equal(notice.dropped, 100_000 - 101);
  assert.deepEqual(texts(delivered), range(1, 101));
});
