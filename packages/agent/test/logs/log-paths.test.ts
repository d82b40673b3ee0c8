import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ExecMode, type LogSpec } from '@fleet/protocol/runner';
import { RotatingLogFile } from '../../src/logs/log-file';
import {
  DISCARD_PATH,
  allLogFiles,
  flushLogFiles,
  listRotatedFiles,
  logFilesFor,
  rotatedPath,
  usesPerInstanceFiles,
} from '../../src/logs/log-paths';
import { tempDir } from './helpers';

const spec = (over: Partial<LogSpec> = {}): LogSpec => ({
  outFile: '/l/api-out.log',
  errorFile: '/l/api-error.log',
  dateFormat: '',
  merge: false,
  json: false,
  maxSizeBytes: 0,
  retain: 0,
  compress: false,
  disabled: false,
  ...over,
});

describe('log paths', () => {
  it('splits per instance in cluster mode or with several instances, as PM2 does', () => {
    assert.equal(usesPerInstanceFiles(ExecMode.EXEC_MODE_FORK, 1), false);
    assert.equal(usesPerInstanceFiles(ExecMode.EXEC_MODE_FORK, 3), true);
    assert.equal(usesPerInstanceFiles(ExecMode.EXEC_MODE_CLUSTER, 1), true);
  });

  it('names the files each instance writes', () => {
    assert.deepEqual(logFilesFor(spec(), 0, false), { out: '/l/api-out.log', err: '/l/api-error.log' });
    assert.deepEqual(logFilesFor(spec(), 2, true), { out: '/l/api-out-2.log', err: '/l/api-error-2.log' });
    assert.deepEqual(logFilesFor(spec({ merge: true }), 2, true), { out: '/l/api-out.log', err: '/l/api-error.log' });
    assert.deepEqual(logFilesFor(spec({ outFile: '/l/api.txt' }), 1, true).out, '/l/api.txt-1');
    assert.deepEqual(logFilesFor(spec({ disabled: true }), 0, true), { out: DISCARD_PATH, err: DISCARD_PATH });
    assert.deepEqual(logFilesFor(spec({ errorFile: '/dev/null' }), 1, true), { out: '/l/api-out-1.log', err: DISCARD_PATH });
  });

  it('lists every distinct file of an app for `fleet logs` and `fleet flush`', () => {
    assert.deepEqual(allLogFiles(spec(), 2, true), [
      { path: '/l/api-out-0.log', streams: ['out'], instance: 0 },
      { path: '/l/api-error-0.log', streams: ['err'], instance: 0 },
      { path: '/l/api-out-1.log', streams: ['out'], instance: 1 },
      { path: '/l/api-error-1.log', streams: ['err'], instance: 1 },
    ]);
    assert.deepEqual(allLogFiles(spec({ merge: true }), 4, true), [
      { path: '/l/api-out.log', streams: ['out'], instance: null },
      { path: '/l/api-error.log', streams: ['err'], instance: null },
    ]);
    // PM2's combined log: out and err in one file.
    assert.deepEqual(allLogFiles(spec({ errorFile: '/l/api-out.log' }), 1, false), [
      { path: '/l/api-out.log', streams: ['out', 'err'], instance: null },
    ]);
    assert.deepEqual(allLogFiles(spec({ disabled: true }), 3, true), []);
  });

  it('flush truncates current files and deletes rotated ones, and the runner keeps writing', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'api-out.log');
    const log = new RotatingLogFile(file, { maxSizeBytes: 30, retain: 5, compress: false, checkIntervalMs: 0 });
    for (let i = 0; i < 10; i++) log.write(`line ${i} of the old run\n`);
    log.flush();
    fs.writeFileSync(rotatedPath(file, 7, true), 'left by a bigger retain');
    fs.writeFileSync(`${file}.123-4.gz.tmp`, 'a crashed compression');
    fs.writeFileSync(path.join(dir, 'api-out.log.bak'), 'not ours');
    fs.writeFileSync(path.join(dir, 'api-out.log2'), 'not ours either');
    assert.equal((await listRotatedFiles(file)).length, 7);

    await flushLogFiles([file, path.join(dir, 'missing.log'), DISCARD_PATH]);
    assert.deepEqual(fs.readdirSync(dir).sort(), ['api-out.log', 'api-out.log.bak', 'api-out.log2']);
    assert.equal(fs.statSync(file).size, 0);

    log.write('after flush\n');
    await log.close();
    assert.equal(fs.readFileSync(file, 'utf8'), 'after flush\n', 'O_APPEND: no hole of zeros before it');
  });
});
