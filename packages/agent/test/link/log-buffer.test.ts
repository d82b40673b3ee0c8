import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { LogStream, type LogLine } from '@fleet/protocol';
import { LogBuffer } from '../../src/link/log-buffer';

function line(n: number): LogLine {
  return { host: 'web1', app: 'api', instance: 0, stream: LogStream.LOG_STREAM_OUT, line: `line ${n}`, timeMs: n, dropped: 0 };
}

const nums = (lines: LogLine[]): number[] => lines.map((l) => l.timeMs);
const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** How many lines the buffer holds on to, taken or not: what the agent's memory pays for. */
function retained(buf: LogBuffer): number {
  return (buf as unknown as { lines: unknown[] }).lines.length;
}

test('lines come out in the order they went in, in batches of at most max', () => {
  const buf = new LogBuffer(100);
  for (let i = 1; i <= 25; i++) buf.push(line(i));
  assert.equal(buf.size, 25);
  const a = buf.take(10);
  const b = buf.take(10);
  const c = buf.take(10);
  assert.deepEqual(nums(a.lines), range(1, 10));
  assert.deepEqual(nums(b.lines), range(11, 20));
  assert.deepEqual(nums(c.lines), range(21, 25));
  assert.deepEqual([a.dropped, b.dropped, c.dropped], [0, 0, 0]);
  assert.equal(buf.size, 0);
  assert.deepEqual(buf.take(10), { lines: [], dropped: 0 });
});

test('bounded: beyond capacity the oldest lines go and are counted', () => {
  const buf = new LogBuffer(3);
  for (let i = 1; i <= 8; i++) buf.push(line(i));
  assert.equal(buf.size, 3);
  const { lines, dropped } = buf.take(100);
  assert.deepEqual(nums(lines), [6, 7, 8]);
  assert.equal(dropped, 5);
});

test('the drop count is reported once, then starts again from zero', () => {
  const buf = new LogBuffer(2);
  for (let i = 1; i <= 5; i++) buf.push(line(i));
  const first = buf.take(1);
  assert.deepEqual(nums(first.lines), [4]);
  assert.equal(first.dropped, 3, 'the count travels with the first batch after the gap');
  const second = buf.take(1);
  assert.deepEqual(nums(second.lines), [5]);
  assert.equal(second.dropped, 0);

  for (let i = 6; i <= 9; i++) buf.push(line(i));
  const third = buf.take(10);
  assert.deepEqual(nums(third.lines), [8, 9]);
  assert.equal(third.dropped, 2);
});

test('the drop count is reported even by a take that finds no lines', () => {
  const buf = new LogBuffer(1);
  buf.push(line(1));
  buf.push(line(2));
  assert.deepEqual(nums(buf.take(0).lines), []);
  assert.equal(buf.take(0).dropped, 0, 'already reported by the first take');
  assert.deepEqual(nums(buf.take(5).lines), [2]);
});

test('pushes after partial takes keep the order', () => {
  const buf = new LogBuffer(10);
  const out: number[] = [];
  let n = 0;
  for (let round = 0; round < 50; round++) {
    for (let i = 0; i < 3; i++) buf.push(line(++n));
    out.push(...nums(buf.take(2).lines));
  }
  out.push(...nums(buf.take(1_000).lines));
  // 150 lines pushed, one more each round than taken: the buffer filled and dropped the oldest.
  assert.ok(out.every((v, i) => i === 0 || v > out[i - 1]), 'strictly increasing: never reordered or repeated');
  assert.equal(out.at(-1), 150);
});

test('large volumes: a million lines through a 10 000-line buffer keep the newest, count the rest', () => {
  const buf = new LogBuffer(10_000);
  for (let i = 1; i <= 1_000_000; i++) buf.push(line(i));
  assert.equal(buf.size, 10_000);
  assert.ok(retained(buf) <= 2 * 10_000 + 4_097, `holds ${retained(buf)} lines for a capacity of 10 000`);
  let dropped = 0;
  const got: number[] = [];
  for (;;) {
    const batch = buf.take(1_000);
    dropped += batch.dropped;
    if (batch.lines.length === 0) break;
    got.push(...nums(batch.lines));
  }
  assert.equal(dropped, 990_000);
  assert.deepEqual(got, range(990_001, 1_000_000));
});

test('lines already taken are released when the buffer empties', () => {
  const buf = new LogBuffer(1_000);
  for (let i = 0; i < 500; i++) buf.push(line(i));
  buf.take(1_000);
  assert.equal(retained(buf), 0);
});

test(
  'memory stays bounded when the buffer is drained in batches but never fully emptied',
  () => {
    // The agent's flush loop takes 1000-line batches and stops when the stream pushes back;
    // with lines arriving about as fast as they leave, the buffer seldom reaches empty.
    const buf = new LogBuffer(10_000);
    let n = 0;
    for (let i = 0; i < 100; i++) buf.push(line(++n));
    for (let round = 0; round < 20_000; round++) {
      for (let i = 0; i < 10; i++) buf.push(line(++n));
      buf.take(10);
    }
    assert.equal(buf.size, 100, 'the backlog is steady at 100 lines');
    assert.equal(buf.take(0).dropped, 0, 'nothing was ever dropped');
    assert.ok(retained(buf) <= 2 * 10_000 + 4_097, `holds ${retained(buf)} lines for a backlog of 100`);
  },
);
