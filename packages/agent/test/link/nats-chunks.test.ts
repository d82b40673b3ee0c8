import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LogLine, LogBatch, LogStream } from '@fleet/protocol';
import { chunksWithin } from '../../src/link/nats-uplink';

const line = (text: string, i = 0): LogLine => LogLine.fromPartial({ app: 'api', instance: 0, stream: LogStream.LOG_STREAM_OUT, line: text, timeMs: i, host: 'web1' });

test('batches stay under the message limit, in order, every line once', () => {
  const lines = Array.from({ length: 500 }, (_, i) => line(`${i} ${'x'.repeat(900)}`, i));
  const chunks = chunksWithin(lines, 64 * 1024);
  assert.ok(chunks.length > 1);
  for (const c of chunks) assert.ok(LogBatch.encode({ lines: c, dropped: 0, seq: 0 }).finish().length <= 64 * 1024);
  assert.deepEqual(chunks.flat().map((l) => l.timeMs), lines.map((l) => l.timeMs));
});

test('a giant line is cut with a marker, never making a message NATS refuses', () => {
  const chunks = chunksWithin([line('a'.repeat(1_200_000))], 512 * 1024);
  assert.equal(chunks.length, 1);
  const [only] = chunks[0];
  assert.ok(Buffer.byteLength(only.line) < 70 * 1024);
  assert.match(only.line, /\[fleet: 1134464 more bytes cut\]$/);
  assert.ok(LogBatch.encode({ lines: chunks[0], dropped: 0, seq: 0 }).finish().length < 1024 * 1024);
});
