import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import * as zlib from 'node:zlib';
import { LineDecoder } from '@fleet/protocol/runner';
import { createLineFormatter } from '../../src/logs/line-formatter';
import { RotatingLogFile } from '../../src/logs/log-file';
import { readAllGenerations, tempDir } from './helpers';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));
const numbered = (from: number, to: number): string[] => {
  const out: string[] = [];
  for (let i = from; i < to; i++) out.push(`line ${String(i).padStart(6, '0')} ${'x'.repeat(i % 17)}\n`);
  return out;
};

describe('RotatingLogFile', () => {
  it('appends with mode 0640, creating the folder, one write per tick, in order', async () => {
    const file = path.join(tempDir(), 'deep', 'er', 'app-out.log');
    fs.mkdirSync(path.dirname(path.dirname(file)), { recursive: true });
    fs.writeFileSync(path.join(path.dirname(path.dirname(file)), 'keep'), '');
    const log = new RotatingLogFile(file, { maxSizeBytes: 0, retain: 0, compress: false });
    const lines = numbered(0, 1000);
    for (const l of lines) log.write(l);
    assert.equal(fs.readFileSync(file, 'utf8'), '', 'buffered until the end of the tick');
    await tick();
    assert.equal(fs.readFileSync(file, 'utf8'), lines.join(''));
    assert.equal(fs.statSync(file).mode & 0o777, 0o640 & ~process.umask());
    log.write('last\n');
    log.flush();
    assert.ok(fs.readFileSync(file, 'utf8').endsWith('last\n'));
    await log.close();
    log.write('after close\n');
    assert.ok(fs.readFileSync(file, 'utf8').endsWith('last\n'));
    assert.equal(log.stats().failures, 0);
  });

  it('appends to an existing file and counts its size toward rotation', async () => {
    const file = path.join(tempDir(), 'a.log');
    fs.writeFileSync(file, 'x'.repeat(90) + '\n');
    const log = new RotatingLogFile(file, { maxSizeBytes: 100, retain: 2, compress: false });
    log.write('0123456789\n');
    await log.close();
    assert.equal(fs.readFileSync(`${file}.1`, 'utf8'), 'x'.repeat(90) + '\n');
    assert.equal(fs.readFileSync(file, 'utf8'), '0123456789\n');
  });

  it('rotates at line boundaries and keeps exactly `retain` files', async () => {
    const file = path.join(tempDir(), 'app-out.log');
    const log = new RotatingLogFile(file, { maxSizeBytes: 1000, retain: 3, compress: false });
    const lines = numbered(0, 1000);
    for (const [i, l] of lines.entries()) {
      log.write(l);
      if (i % 7 === 0) await tick();
    }
    await log.close();
    const names = fs.readdirSync(path.dirname(file)).sort();
    assert.deepEqual(names, ['app-out.log', 'app-out.log.1', 'app-out.log.2', 'app-out.log.3']);
    const { text, files } = readAllGenerations(file);
    assert.ok(lines.join('').endsWith(text), 'the kept files are the newest lines, in order');
    for (const f of files) {
      const body = fs.readFileSync(f, 'utf8');
      assert.ok(body.length <= 1000, `${f} exceeds max size`);
      assert.ok(body.endsWith('\n') && /^line \d{6}/.test(body), `${f} holds whole lines`);
    }
    assert.ok(log.stats().rotations > 10);
  });

  it('gzips rotated files; they decompress to the right content', async () => {
    const file = path.join(tempDir(), 'app-err.log');
    const log = new RotatingLogFile(file, { maxSizeBytes: 2000, retain: 4, compress: true });
    const lines = numbered(0, 600);
    for (const [i, l] of lines.entries()) {
      log.write(l);
      if (i % 50 === 0) await tick();
    }
    await log.close();
    const names = fs.readdirSync(path.dirname(file)).sort();
    assert.deepEqual(names, ['app-err.log', 'app-err.log.1.gz', 'app-err.log.2.gz', 'app-err.log.3.gz', 'app-err.log.4.gz']);
    const { text } = readAllGenerations(file);
    const all = lines.join('');
    assert.ok(all.endsWith(text));
    assert.ok(text.length > 4 * 2000 - 200, 'four full rotated files plus the current one');
    const newest = zlib.gunzipSync(fs.readFileSync(`${file}.1.gz`)).toString();
    assert.ok(all.endsWith(newest + fs.readFileSync(file, 'utf8')));
  });

  it('retain 0 keeps no rotated file; a smaller retain prunes older leftovers', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'a.log');
    for (let g = 1; g <= 6; g++) fs.writeFileSync(`${file}.${g}${g % 2 ? '.gz' : ''}`, 'old\n');
    const log = new RotatingLogFile(file, { maxSizeBytes: 50, retain: 2, compress: false });
    for (const l of numbered(0, 5)) log.write(l); // rotates once, before the fourth line
    await log.close();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['a.log', 'a.log.1', 'a.log.2.gz']);
    assert.equal(fs.readFileSync(`${file}.1`, 'utf8'), numbered(0, 3).join(''));

    const none = path.join(dir, 'b.log');
    const log0 = new RotatingLogFile(none, { maxSizeBytes: 50, retain: 0, compress: false });
    for (const l of numbered(0, 10)) log0.write(l);
    await log0.close();
    assert.deepEqual(fs.readdirSync(dir).filter((n) => n.startsWith('b.log')), ['b.log']);
    assert.equal(fs.readFileSync(none, 'utf8'), numbered(9, 10).join(''));
  });

  it('survives a deleted folder and an unwritable path without throwing', async () => {
    const dir = path.join(tempDir(), 'logs');
    const file = path.join(dir, 'a.log');
    const errors: Error[] = [];
    const log = new RotatingLogFile(file, {
      maxSizeBytes: 0,
      retain: 0,
      compress: false,
      checkIntervalMs: 0,
      onError: (e) => errors.push(e),
    });
    log.write('a\n');
    log.flush();
    fs.rmSync(dir, { recursive: true });
    log.write('b\n');
    log.flush();
    assert.equal(fs.readFileSync(file, 'utf8'), 'b\n', 'folder recreated, file reopened');

    // A file where the folder should be: opening fails, lines are dropped and counted.
    fs.rmSync(dir, { recursive: true });
    fs.writeFileSync(dir, 'not a folder');
    log.write('c\n');
    assert.doesNotThrow(() => log.flush());
    log.write('c2\n');
    await tick();
    const s = log.stats();
    assert.ok(s.failures >= 1 && errors.length === s.failures);
    assert.equal(s.droppedBytes, 5);
    assert.ok(s.lastError);

    fs.rmSync(dir);
    log.write('d\n');
    log.flush();
    assert.equal(fs.readFileSync(file, 'utf8'), 'd\n');
    await log.close();
  });

  it('follows an outside rename on reopen() and a truncation on its own', async () => {
    const file = path.join(tempDir(), 'a.log');
    const log = new RotatingLogFile(file, { maxSizeBytes: 40, retain: 5, compress: false, checkIntervalMs: 0 });
    log.write('first line\n');
    log.flush();
    fs.renameSync(file, `${file}.moved`);
    log.reopen();
    log.write('second line\n');
    log.flush();
    assert.equal(fs.readFileSync(file, 'utf8'), 'second line\n');
    // `fleet flush` truncates under us: the size must restart from 0 rather than rotate early.
    fs.truncateSync(file, 0);
    log.write('third line is here\n');
    log.flush();
    log.write('fourth line\n');
    await log.close();
    assert.equal(fs.readFileSync(file, 'utf8'), 'third line is here\nfourth line\n');
    assert.equal(log.stats().rotations, 0);
  });

  // The guarantee that matters: a real app writing >10k lines/s through a pipe,
  // many rotations with gzip, and every line exactly once, in order.
  it('loses, repeats and reorders no line of a child writing 50k lines/s across many rotations', async (t) => {
    const { lines, files, stats } = await pipeChild({ rate: 50_000, durationMs: 2000, maxSizeBytes: 64 * 1024 });
    assert.equal(lines, 100_000);
    assert.ok(files > 40, `expected many rotations, got ${files} files`);
    t.diagnostic(`${lines} lines in ${files} files, ${stats.rotations} rotations`);
  });

  it('keeps up with a child writing as fast as its pipe allows (measured, printed)', async (t) => {
    const started = Date.now();
    const { lines, files } = await pipeChild({ rate: 0, durationMs: 1000, maxSizeBytes: 1 << 20 });
    const secs = (Date.now() - started) / 1000;
    t.diagnostic(`${lines.toLocaleString('en')} lines in ${files} files: ${Math.round(lines / secs).toLocaleString('en')} lines/s end to end`);
  });

  it('throughput: timestamped lines with rotation (measured, printed)', async (t) => {
    const dir = tempDir();
    const format = createLineFormatter({ dateFormat: 'YYYY-MM-DD HH:mm:ss.SSS', json: false, app: 'a', instance: 0, stream: 'out' });
    const n = 400_000;
    const batch = 500; // lines per pipe chunk, as a runner sees them
    const line = 'GET /api/v1/things/12345 200 3.2ms user=alice request-id=0f9c2b'; // ~64 bytes

    const measure = async (name: string, write: (s: string) => void, end: () => Promise<void>): Promise<number> => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i += batch) {
        for (let k = 0; k < batch; k++) write(format(line));
        await tick();
      }
      await end();
      const secs = Number(process.hrtime.bigint() - start) / 1e9;
      const rate = Math.round(n / secs);
      t.diagnostic(`${name}: ${rate.toLocaleString('en')} lines/s`);
      return rate;
    };

    const plain = new RotatingLogFile(path.join(dir, 'a.log'), { maxSizeBytes: 4 << 20, retain: 10, compress: false });
    const rate = await measure('buffered per tick, 4 MiB rotation', (s) => plain.write(s), () => plain.close());
    const gz = new RotatingLogFile(path.join(dir, 'b.log'), { maxSizeBytes: 4 << 20, retain: 10, compress: true });
    await measure('buffered per tick, 4 MiB rotation, gzip', (s) => gz.write(s), () => gz.close());
    const fd = fs.openSync(path.join(dir, 'c.log'), 'a');
    await measure('for comparison: one writeSync per line', (s) => fs.writeSync(fd, s), async () => fs.closeSync(fd));
    assert.ok(rate > 50_000, `only ${rate} lines/s`);
    assert.equal(readAllGenerations(path.join(dir, 'a.log')).text.split('\n').length - 1, n);
  });
});

describe('RotatingLogFile waits', () => {
  it('close() waits for compression to finish', async () => {
    const file = path.join(tempDir(), 'a.log');
    const log = new RotatingLogFile(file, { maxSizeBytes: 100_000, retain: 3, compress: true });
    const big = 'y'.repeat(99) + '\n';
    for (let i = 0; i < 4000; i++) log.write(big); // 1000 lines a file: three rotations
    await log.close();
    const names = fs.readdirSync(path.dirname(file)).sort();
    assert.deepEqual(names, ['a.log', 'a.log.1.gz', 'a.log.2.gz', 'a.log.3.gz']);
  });
});

/**
 * Spawns `node -e` printing `n=<i>` lines (at `rate` per second, or flat out
 * when 0) for `durationMs`, pipes them through a line splitter, a timestamp
 * formatter and a RotatingLogFile with gzip, then reads every generation back
 * and checks each number appears once, in order, with whole lines in every file.
 */
async function pipeChild(o: { rate: number; durationMs: number; maxSizeBytes: number }): Promise<{
  lines: number;
  files: number;
  stats: ReturnType<RotatingLogFile['stats']>;
}> {
  const file = path.join(tempDir(), 'app-out.log');
  const script = `
    const rate = ${o.rate}, total = rate * ${o.durationMs} / 1000, start = Date.now();
    let i = 0;
    (function tick() {
      const elapsed = Date.now() - start;
      const target = rate ? Math.min(total, Math.floor((elapsed * rate) / 1000)) : i + 2000;
      let s = '';
      while (i < target) s += 'n=' + (i++) + '\\n';
      if (s) process.stdout.write(s);
      if (rate ? i < total : elapsed < ${o.durationMs}) setTimeout(tick, rate ? 1 : 0);
    })();`;
  const child = spawn(process.execPath, ['-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const log = new RotatingLogFile(file, { maxSizeBytes: o.maxSizeBytes, retain: 1000, compress: true });
  const format = createLineFormatter({ dateFormat: 'YYYY-MM-DD HH:mm:ss.SSS', json: false, app: 'a', instance: 0, stream: 'out' });
  const decoder = new LineDecoder();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    for (const line of decoder.push(chunk)) log.write(format(line));
  });
  const [code] = (await once(child, 'close')) as [number];
  assert.equal(code, 0);
  await log.close();

  const { text, files } = readAllGenerations(file);
  assert.ok(files.slice(0, -1).every((f) => f.endsWith('.gz')), 'every rotated file compressed');
  const lines = text.split('\n');
  assert.equal(lines.pop(), '');
  for (let i = 0; i < lines.length; i++) {
    const m = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}: n=(\d+)$/.exec(lines[i]!);
    if (!m || Number(m[1]) !== i) assert.fail(`line ${i} is ${JSON.stringify(lines[i])}`);
  }
  for (const f of files) {
    const body = f.endsWith('.gz') ? zlib.gunzipSync(fs.readFileSync(f)) : fs.readFileSync(f);
    assert.ok(body.length <= o.maxSizeBytes && body[body.length - 1] === 0x0a, `${f}: whole lines within the limit`);
  }
  return { lines: lines.length, files: files.length, stats: log.stats() };
}
