// A follower that resumes where an earlier one stopped (an agent restarted):
// lines written in between are delivered, none twice.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { followFile, type FilePosition } from '../../src/logs/log-tail';
import { ShippedPositions } from '../../src/link/shipped-positions';
import type { LogLine } from '@fleet/protocol';
import { tempDir, waitFor } from './helpers';

test('followFile startAt: resumes at the mark of the last delivered line; a truncated file restarts at its top', async () => {
  const file = path.join(tempDir(), 'app-out.log');
  fs.writeFileSync(file, 'a\nb\n');
  let mark: FilePosition | undefined;
  const first: string[] = [];
  const h1 = followFile(file, (lines, at) => {
    first.push(...lines);
    mark = at;
  }, { fromEnd: false });
  await waitFor(() => first.length === 2, 'a and b');
  h1.close();
  assert.equal(mark!.pos, 4);

  fs.appendFileSync(file, 'c\nd\n'); // written while nobody followed
  const second: string[] = [];
  const h2 = followFile(file, (lines) => second.push(...lines), { startAt: mark });
  await waitFor(() => second.length === 2, 'c and d');
  fs.appendFileSync(file, 'e\n');
  await waitFor(() => second.length === 3, 'e');
  h2.close();
  assert.deepEqual(second, ['c', 'd', 'e']);

  fs.writeFileSync(file, 'x\n'); // truncated below the mark (fleet flush)
  const third: string[] = [];
  const h3 = followFile(file, (lines) => third.push(...lines), { startAt: { ino: mark!.ino, pos: 100 } });
  await waitFor(() => third.length === 1, 'x');
  h3.close();
  assert.deepEqual(third, ['x']);

  // Another file under the same name (rotated away meanwhile): the mark is not its own; start at the end.
  fs.rmSync(file);
  fs.writeFileSync(file, 'new\n');
  const fourth: string[] = [];
  const h4 = followFile(file, (lines) => fourth.push(...lines), { startAt: { ino: -5, pos: 0 } });
  fs.appendFileSync(file, 'after\n');
  await waitFor(() => fourth.length === 1, 'after');
  h4.close();
  assert.deepEqual(fourth, ['after']);
});

test('ShippedPositions: only confirmed lines move a file forward; a restart resumes each file once', () => {
  const store = path.join(tempDir(), 'log-shipped.json');
  const p = new ShippedPositions(store);
  const line = (s: string): LogLine => ({ app: 'a', instance: 0, stream: 1 as never, line: s, timeMs: 0, host: 'h', dropped: 0 });
  const l1 = line('1');
  const l2 = line('2');
  p.mark(l1, { path: '/f', ino: 7, pos: 10 });
  p.mark(l2, { path: '/f', ino: 7, pos: 20 });
  p.confirm([l2]);
  p.confirm([l1]); // late, older: does not move it back
  p.save();
  const again = new ShippedPositions(store);
  assert.deepEqual(again.resumeFor('/f'), { ino: 7, pos: 20 });
  assert.equal(again.resumeFor('/f'), undefined, 'once: a later follow (a scale) starts at the end');
  assert.equal(again.resumeFor('/other'), undefined);
  fs.writeFileSync(store, '{not json');
  assert.equal(new ShippedPositions(store).resumeFor('/f'), undefined, 'a damaged file is a first start');
});
