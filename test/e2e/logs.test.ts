// Logs through the real runner: `fleet logs` (last N lines, --out/--err,
// --json), timestamps, JSON log files, rotation under 10 000 lines/s with no
// line lost or doubled (gzip included), `fleet logs -f` across rotations, and
// `fleet flush`.
import { after, describe, test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { FIXTURE_APP, FLEET_BIN, FleetHome, ROOT, isAlive, waitFor } from '../harness';

const PRINT_LINES = path.join(ROOT, 'test/fixtures/print-lines.js');

function writeConfig(h: FleetHome, app: Record<string, unknown>): string {
  const file = path.join(h.home, `${String(app.name)}.config.js`);
  fs.writeFileSync(file, `module.exports = { apps: [${JSON.stringify(app, null, 2)}] };\n`);
  return file;
}

function start(h: FleetHome, app: Record<string, unknown>): void {
  const r = h.fleet(['start', writeConfig(h, app)]);
  assert.equal(r.code, 0, r.stderr + r.stdout);
}

function logFile(h: FleetHome, name: string): string {
  return path.join(h.home, 'logs', name);
}

function read(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** The current file and every rotated generation of it (`x.log.N`, `x.log.N.gz`), oldest first. */
function generations(file: string): string[] {
  const dir = path.dirname(file);
  const base = path.basename(file);
  const gen = (f: string): number => Number(f.slice(base.length + 1).replace(/\.gz$/, '') || 0);
  return fs
    .readdirSync(dir)
    .filter((f) => f === base || new RegExp(`^${base.replace(/\./g, '\\.')}\\.\\d+(\\.gz)?$`).test(f))
    .sort((a, b) => gen(b) - gen(a))
    .map((f) => path.join(dir, f));
}

function readGeneration(file: string): string {
  const data = fs.readFileSync(file);
  return file.endsWith('.gz') ? zlib.gunzipSync(data).toString('utf8') : data.toString('utf8');
}

/** The numbers of `line <n>` in text, in order. */
function lineNumbers(text: string): number[] {
  const out: number[] = [];
  for (const m of text.matchAll(/line (\d+)$/gm)) out.push(Number(m[1]));
  return out;
}

function assertContiguous(nums: number[], what: string): void {
  for (let i = 1; i < nums.length; i++) {
    if (nums[i] !== nums[i - 1]! + 1) {
      assert.fail(`${what}: after line ${nums[i - 1]} comes line ${nums[i]} (index ${i} of ${nums.length})`);
    }
  }
}

/** Local wall-clock time of a "YYYY-MM-DD HH:mm:ss" stamp. */
function localTime(stamp: string): number {
  const [d, t] = stamp.split(' ');
  const [y, mo, day] = d!.split('-').map(Number);
  const [hh, mm, ss] = t!.split(':').map(Number);
  return new Date(y!, mo! - 1, day, hh, mm, ss).getTime();
}

describe('fleet logs', () => {
  const h = new FleetHome();
  after(() => h.cleanup());

  test('--lines N shows the last N lines of each stream; --out and --err pick one', async () => {
    start(h, { name: 'printer', script: PRINT_LINES, env: { OUT_LINES: '100', ERR_LINES: '20' } });
    await waitFor(() => read(logFile(h, 'printer-out.log')).includes('out 99\n') && read(logFile(h, 'printer-error.log')).includes('err 19\n'), {
      message: 'printer to write its lines',
    });
    const out = h.fleet(['logs', 'printer', '--lines', '5', '--out']);
    assert.equal(out.code, 0, out.stderr);
    assert.deepEqual(
      out.stdout.trimEnd().split('\n').map((l) => l.replace(/^.*\| /, '')),
      ['out 95', 'out 96', 'out 97', 'out 98', 'out 99'],
    );
    assert.match(out.stdout, /^printer/m, 'each line names its app');

    const err = h.fleet(['logs', 'printer', '--lines', '3', '--err']);
    assert.equal(err.code, 0, err.stderr);
    assert.deepEqual(err.stdout.trimEnd().split('\n').map((l) => l.replace(/^.*\| /, '')), ['err 17', 'err 18', 'err 19']);

    const both = h.fleet(['logs', 'printer', '--lines', '2']);
    assert.equal(both.code, 0, both.stderr);
    const shown = both.stdout.trimEnd().split('\n').map((l) => l.replace(/^.*\| /, '')).sort();
    assert.deepEqual(shown, ['err 18', 'err 19', 'out 98', 'out 99']);

    const lots = h.fleet(['logs', 'printer', '--lines', '1000', '--out']);
    assert.equal(lots.stdout.trimEnd().split('\n').length, 100, 'asking for more lines than there are shows them all');
  });

  test('--json prints one JSON object per line', () => {
    const r = h.fleet(['logs', 'printer', '--lines', '4', '--json']);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 8);
    const objs = lines.map((l) => JSON.parse(l) as { app: string; instance: number; stream: string; line: string; timeMs: number });
    for (const o of objs) {
      assert.equal(o.app, 'printer');
      assert.equal(o.instance, 0);
      assert.ok(typeof o.timeMs === 'number');
    }
    assert.deepEqual(objs.filter((o) => o.stream === 'out').map((o) => o.line), ['out 96', 'out 97', 'out 98', 'out 99']);
    assert.deepEqual(objs.filter((o) => o.stream === 'err').map((o) => o.line), ['err 16', 'err 17', 'err 18', 'err 19']);
  });

  // A streaming call must fail with a status, not hang: a server stream that is
  // destroyed instead of failed (call.destroy vs emit('error')) never answers.
  test('an unknown app is an error naming it', () => {
    const r = h.fleet(['logs', 'nosuchapp', '--lines', '3'], { timeoutMs: 5000 });
    assert.notEqual(r.code, -1, 'fleet logs nosuchapp hangs');
    assert.equal(r.code, 1);
    assert.match(r.stderr, /nosuchapp/);
  });

  test('log_date_format puts the local time before each line; log_type json writes JSON lines', async () => {
    const t0 = Date.now();
    start(h, { name: 'stamped', script: PRINT_LINES, log_date_format: 'YYYY-MM-DD HH:mm:ss', env: { OUT_LINES: '3' } });
    start(h, { name: 'jsonlog', script: PRINT_LINES, log_type: 'json', env: { OUT_LINES: '3' } });
    const text = await waitFor(() => (read(logFile(h, 'stamped-out.log')).includes('out 2\n') ? read(logFile(h, 'stamped-out.log')) : ''), {
      message: 'stamped to write',
    });
    const lines = text.trimEnd().split('\n');
    assert.equal(lines.length, 3);
    for (const [i, line] of lines.entries()) {
      const m = /^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d): out (\d)$/.exec(line);
      assert.ok(m, `line ${line}`);
      assert.equal(Number(m[2]), i);
      const t = localTime(m[1]!);
      assert.ok(t >= Math.floor(t0 / 1000) * 1000 && t <= Date.now(), `stamp ${m[1]} is not the local time of the write`);
    }
    // `fleet logs` shows the file's lines as written, stamps included.
    const shown = h.fleet(['logs', 'stamped', '--lines', '1', '--out']).stdout;
    assert.match(shown, /\d{4}-\d\d-\d\d \d\d:\d\d:\d\d: out 2/);

    const json = await waitFor(() => (read(logFile(h, 'jsonlog-out.log')).includes('out 2') ? read(logFile(h, 'jsonlog-out.log')) : ''), {
      message: 'jsonlog to write',
    });
    const objs = json.trimEnd().split('\n').map((l) => JSON.parse(l) as { time: string; app: string; stream: string; message: string });
    assert.deepEqual(objs.map((o) => o.message), ['out 0', 'out 1', 'out 2']);
    for (const o of objs) {
      assert.equal(o.app, 'jsonlog');
      assert.equal(o.stream, 'out');
      assert.ok(Math.abs(Date.parse(o.time) - Date.now()) < 60_000, `time ${o.time}`);
    }
    assert.equal(h.fleet(['delete', 'stamped']).code, 0);
    assert.equal(h.fleet(['delete', 'jsonlog']).code, 0);
  });

  test('rotation at 10 000 lines/s loses no line and doubles none (gzip on)', async () => {
    start(h, {
      name: 'chatty',
      script: FIXTURE_APP,
      log_max_size: '60K',
      log_retain: 100,
      log_compress: true,
      env: { PORT: '0', LOG_LINES_PER_S: '10000' },
    });
    const out = logFile(h, 'chatty-out.log');
    // Several rotations' worth: about 11 bytes a line, 60K a file.
    await waitFor(() => lineNumbers(read(out)).length > 0 && generations(out).length >= 5, {
      timeoutMs: 20_000,
      message: 'chatty to rotate 4 times',
    });
    const stop = h.fleet(['stop', 'chatty']);
    assert.equal(stop.code, 0, stop.stderr);
    // Compression runs in the background: wait until every rotated file is gzipped.
    await waitFor(() => generations(out).slice(0, -1).every((f) => f.endsWith('.gz')) && !fs.readdirSync(path.dirname(out)).some((f) => f.includes('.tmp')), {
      message: 'rotated files to be compressed',
    });
    const files = generations(out);
    assert.ok(files.length >= 5, `files: ${files.join(', ')}`);
    let all: number[] = [];
    for (const f of files) {
      const nums = lineNumbers(readGeneration(f));
      assertContiguous(nums, path.basename(f));
      all = all.concat(nums);
    }
    assert.equal(all[0], 0, 'the first line is in the oldest file');
    assertContiguous(all, 'across files');
    assert.ok(all.length > 15_000, `only ${all.length} lines written`);
    // Each rotated file stayed under the limit.
    for (const f of files.slice(0, -1)) assert.ok(readGeneration(f).length <= 60 * 1024, `${path.basename(f)} is over 60K`);
    assert.equal(h.fleet(['delete', 'chatty']).code, 0);
  });

  test('fleet logs -f keeps following across rotations, no line missed', async () => {
    start(h, {
      name: 'follow',
      script: FIXTURE_APP,
      log_max_size: '20K',
      log_retain: 50,
      env: { PORT: '0', LOG_LINES_PER_S: '3000' },
    });
    const out = logFile(h, 'follow-out.log');
    await waitFor(() => lineNumbers(read(out)).length > 0, { message: 'follow to write' });
    const child = spawn(process.execPath, [FLEET_BIN, 'logs', 'follow', '-f', '--out', '--lines', '1'], { env: h.env });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      await waitFor(() => lineNumbers(stdout).length > 0, { message: `logs -f to print a line (${stderr})` });
      const rotatedBefore = generations(out).length;
      // Three more rotations while following.
      await waitFor(() => generations(out).length >= rotatedBefore + 3, { timeoutMs: 15_000, message: 'three rotations' });
      const lastInFile = lineNumbers(read(out)).at(-1)!;
      await waitFor(() => (lineNumbers(stdout).at(-1) ?? 0) >= lastInFile, { message: `logs -f to reach line ${lastInFile}` });
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, `Ctrl-C is a normal end: ${stderr}`);
    const followed = lineNumbers(stdout);
    assert.ok(followed.length > 3000, `followed ${followed.length} lines`);
    assertContiguous(followed, 'lines seen by logs -f');
    assert.equal(h.fleet(['delete', 'follow']).code, 0);
  });

  test('fleet flush empties the logs; the app keeps logging into the same file', async () => {
    start(h, { name: 'flushme', script: FIXTURE_APP, log_max_size: '4K', log_retain: 5, env: { PORT: '0', LOG_LINES_PER_S: '200' } });
    const out = logFile(h, 'flushme-out.log');
    await waitFor(() => generations(out).length >= 2, { timeoutMs: 10_000, message: 'flushme to rotate once' });
    const lastBefore = lineNumbers(read(out)).at(-1)!;
    const r = h.fleet(['flush', 'flushme']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(h.fleet(['logs', 'printer', '--lines', '1', '--out']).stdout, /out 99/, 'flushing one app leaves the others');
    assert.deepEqual(generations(out), [out], 'rotated files are deleted');
    // New lines land in the file at its start: no hole of NUL bytes, no old lines.
    const text = await waitFor(() => {
      const t = read(out);
      return lineNumbers(t).length >= 100 ? t : '';
    }, { timeoutMs: 10_000, message: 'flushme to write 100 new lines' });
    assert.ok(!text.includes('\0'), 'the file has a hole of NUL bytes: the runner kept writing at the old offset');
    const nums = lineNumbers(text);
    assertContiguous(nums, 'lines after flush');
    assert.ok(nums[0]! > lastBefore, `line ${nums[0]} was written before the flush (last then: ${lastBefore})`);
    const shown = lineNumbers(h.fleet(['logs', 'flushme', '--lines', '1000', '--out']).stdout);
    assert.ok(shown[0]! >= nums[0]!, 'fleet logs shows no line from before the flush');
    assert.equal(h.fleet(['delete', 'flushme']).code, 0);
  });

  test('fleet flush empties the logs of a stopped app whose runner is gone', async () => {
    start(h, { name: 'gone', script: PRINT_LINES });
    const out = logFile(h, 'gone-out.log');
    await waitFor(() => read(out).length > 0, { message: 'gone to write its lines' });
    assert.equal(h.fleet(['stop', 'gone']).code, 0);
    // The runner dies (as after a reboot); a stopped app gets no new one.
    const runner = spawnSync('pgrep', ['-f', `runner-main.js ${path.join(h.home, 'run', 'gone.boot.json')}`], { encoding: 'utf8' }).stdout.trim();
    assert.ok(runner, 'runner pid');
    process.kill(Number(runner), 'SIGKILL');
    await waitFor(() => !isAlive(Number(runner)), { message: 'the runner to die' });
    const r = h.fleet(['flush', 'gone']);
    assert.equal(r.code, 0, r.stderr);
    assert.ok(fs.existsSync(out), 'flush empties the file, it does not remove it');
    assert.equal(read(out), '', 'the out log is empty');
    assert.equal(h.fleet(['delete', 'gone']).code, 0);
  });
});
