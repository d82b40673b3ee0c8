import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { RotatingLogFile } from '../../src/logs/log-file';
import { followFile, readLastLines } from '../../src/logs/log-tail';
import { tempDir, waitFor } from './helpers';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const range = (from: number, to: number, prefix = 'n='): string[] =>
  Array.from({ length: to - from }, (_, i) => `${prefix}${from + i}`);
const text = (lines: string[]): string => lines.map((l) => `${l}\n`).join('');

describe('readLastLines', () => {
  it('handles missing, empty and tiny files', async () => {
    const dir = tempDir();
    const f = path.join(dir, 'a.log');
    assert.deepEqual(await readLastLines(f, 10), []);
    fs.writeFileSync(f, '');
    assert.deepEqual(await readLastLines(f, 10), []);
    fs.writeFileSync(f, '\n');
    assert.deepEqual(await readLastLines(f, 10), ['']);
    fs.writeFileSync(f, 'a\n\nb\n');
    assert.deepEqual(await readLastLines(f, 10), ['a', '', 'b']);
    assert.deepEqual(await readLastLines(f, 2), ['', 'b']);
    assert.deepEqual(await readLastLines(f, 0), []);
    fs.writeFileSync(f, 'a\nb\nunterminated');
    assert.deepEqual(await readLastLines(f, 2), ['b', 'unterminated']);
  });

  it('reads backwards across chunk boundaries without breaking multibyte characters', async () => {
    const f = path.join(tempDir(), 'big.log');
    // 3-byte and 4-byte characters at every offset modulo the chunk size.
    const lines = Array.from({ length: 60_000 }, (_, i) => `${i} ${'é€😀'.repeat(i % 13)}`);
    fs.writeFileSync(f, text(lines));
    assert.ok(fs.statSync(f).size > 1 << 20);
    assert.deepEqual(await readLastLines(f, 1), lines.slice(-1));
    assert.deepEqual(await readLastLines(f, 5000), lines.slice(-5000));
    assert.deepEqual(await readLastLines(f, 100_000), lines);
  });

  it('continues into rotated files, plain or gzipped, when the current one is short', async () => {
    const f = path.join(tempDir(), 'app-out.log');
    fs.writeFileSync(`${f}.3`, text(range(0, 10)));
    fs.writeFileSync(`${f}.2.gz`, zlib.gzipSync(text(range(10, 20))));
    fs.writeFileSync(`${f}.1`, text(range(20, 30)));
    fs.writeFileSync(f, text(range(30, 33)));
    assert.deepEqual(await readLastLines(f, 3), range(30, 33));
    assert.deepEqual(await readLastLines(f, 5), range(28, 33));
    assert.deepEqual(await readLastLines(f, 15), range(18, 33));
    assert.deepEqual(await readLastLines(f, 1000), range(0, 33));
    // Right after a rotation the current file is empty or missing.
    fs.writeFileSync(f, '');
    assert.deepEqual(await readLastLines(f, 4), range(26, 30));
    fs.rmSync(f);
    fs.renameSync(`${f}.1`, `${f}.1.tmp`);
    fs.writeFileSync(`${f}.1.gz`, zlib.gzipSync(fs.readFileSync(`${f}.1.tmp`)));
    assert.deepEqual(await readLastLines(f, 12), range(18, 30));
  });
});

describe('followFile', () => {
  it('waits for a file that does not exist yet, then delivers whole lines only', async () => {
    const dir = path.join(tempDir(), 'not-yet');
    const f = path.join(dir, 'a.log');
    const got: string[] = [];
    const h = followFile(f, (l) => got.push(...l), { pollMs: 20 });
    try {
      fs.mkdirSync(dir);
      fs.writeFileSync(f, 'one\ntw');
      await waitFor(() => got.length === 1, 'first line');
      fs.appendFileSync(f, 'o\nthree\n');
      await waitFor(() => got.length === 3, 'the rest');
      assert.deepEqual(got, ['one', 'two', 'three']);
    } finally {
      h.close();
    }
  });

  it('starts at the end by default, at the top with fromEnd: false', async () => {
    const f = path.join(tempDir(), 'a.log');
    fs.writeFileSync(f, text(['old1', 'old2']));
    const fromEnd: string[] = [];
    const fromTop: string[] = [];
    const a = followFile(f, (l) => fromEnd.push(...l));
    const b = followFile(f, (l) => fromTop.push(...l), { fromEnd: false });
    try {
      fs.appendFileSync(f, 'new\n');
      await waitFor(() => fromEnd.length === 1 && fromTop.length === 3, 'lines');
      assert.deepEqual(fromEnd, ['new']);
      assert.deepEqual(fromTop, ['old1', 'old2', 'new']);
    } finally {
      a.close();
      b.close();
    }
  });

  it('delivers a backlog then follows, with nothing lost or repeated in between', async () => {
    const f = path.join(tempDir(), 'a.log');
    fs.writeFileSync(`${f}.1`, text(range(0, 5)));
    fs.writeFileSync(f, text(range(5, 8)));
    const batches: string[][] = [];
    const h = followFile(f, (l) => batches.push(l), { backlog: 6 });
    fs.appendFileSync(f, text(range(8, 10))); // written while the backlog is read
    try {
      await waitFor(() => batches.flat().length === 8, 'backlog and new lines');
      assert.deepEqual(batches[0], range(2, 8));
      assert.deepEqual(batches.flat(), range(2, 10));
    } finally {
      h.close();
    }
  });

  it('starts over after a truncation (fleet flush)', async () => {
    const f = path.join(tempDir(), 'a.log');
    fs.writeFileSync(f, '');
    const got: string[] = [];
    const h = followFile(f, (l) => got.push(...l), { pollMs: 20 });
    try {
      fs.appendFileSync(f, text(['before 1', 'before 2']));
      await waitFor(() => got.length === 2, 'before');
      fs.truncateSync(f, 0);
      fs.appendFileSync(f, 'after\n');
      await waitFor(() => got.length === 3, 'after');
      assert.deepEqual(got, ['before 1', 'before 2', 'after']);
    } finally {
      h.close();
    }
  });

  it('sees every line exactly once across 20+ rotations, including bursts of several between two checks', async () => {
    const f = path.join(tempDir(), 'app-out.log');
    const got: string[] = [];
    const h = followFile(f, (l) => got.push(...l), { pollMs: 50 });
    const log = new RotatingLogFile(f, { maxSizeBytes: 4096, retain: 100, compress: false });
    const all = range(0, 30_000);
    try {
      for (let i = 0; i < all.length; i += 100) {
        for (const line of all.slice(i, i + 100)) log.write(`${line}\n`);
        // Mostly yield (the follower interleaves); sometimes not (several rotations in one go).
        if (i % 3000 < 2000) await tick();
      }
      await log.close();
      await waitFor(() => got.length >= all.length, 'every line', 4000);
      assert.ok(log.stats().rotations >= 20, `${log.stats().rotations} rotations`);
      assert.equal(got.length, all.length);
      assert.deepEqual(got, all);
    } finally {
      h.close();
    }
  });

  it('follows a writer in another process, with gzip, while our event loop stalls, without loss or repeats', async () => {
    const f = path.join(tempDir(), 'app-out.log');
    const total = 40_000;
    const got: string[] = [];
    const h = followFile(f, (l) => got.push(...l));
    // Busy stretches (GC, a slow handler) let several rotations and compressions pass unseen.
    const stall = setInterval(() => {
      for (const end = Date.now() + 15; Date.now() < end; );
    }, 25);
    try {
      const logFile = require.resolve('../../src/logs/log-file');
      const script = `
        const { RotatingLogFile } = require(${JSON.stringify(logFile)});
        const log = new RotatingLogFile(${JSON.stringify(f)}, { maxSizeBytes: 8192, retain: 200, compress: true });
        let i = 0;
        (function tick() {
          for (const end = Math.min(i + 400, ${total}); i < end; ) log.write('n=' + i++ + '\\n');
          if (i < ${total}) setTimeout(tick, 1); else log.close();
        })();`;
      const child = spawn(process.execPath, ['-e', script], { stdio: 'inherit' });
      const [code] = (await once(child, 'close')) as [number];
      clearInterval(stall);
      assert.equal(code, 0);
      await waitFor(() => got.length >= total, `every line (${got.length} so far)`, 4000);
      assert.equal(got.length, total);
      assert.deepEqual(got, range(0, total));
      assert.ok(fs.existsSync(`${f}.20.gz`), 'rotated 20+ times');
    } finally {
      clearInterval(stall);
      h.close();
    }
  });

  for (const compress of [false, true]) {
    it(`replays generations rotated before its first look at a file that did not exist (compress: ${compress})`, async () => {
      const f = path.join(tempDir(), 'app-out.log');
      fs.writeFileSync(`${f}.1`, 'from an earlier run\n'); // older than the follower: not replayed
      const got: string[] = [];
      const h = followFile(f, (l) => got.push(...l), { pollMs: 20 });
      const log = new RotatingLogFile(f, { maxSizeBytes: 1000, retain: 50, compress });
      const all = range(0, 1000);
      try {
        for (const line of all) log.write(`${line}\n`); // ~10 rotations before the follower runs
        await log.close();
        await waitFor(() => got.length >= all.length, `every line (${got.length} so far)`);
        assert.deepEqual(got, all);
      } finally {
        h.close();
      }
    });
  }

  it('stops delivering after close()', async () => {
    const f = path.join(tempDir(), 'a.log');
    fs.writeFileSync(f, '');
    const got: string[] = [];
    const h = followFile(f, (l) => got.push(...l), { pollMs: 10 });
    fs.appendFileSync(f, 'a\n');
    await waitFor(() => got.length === 1, 'a');
    h.close();
    fs.appendFileSync(f, 'b\n');
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, ['a']);
  });
});
