import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ConfigError, parseDuration, parseSize } from '../../src/config';

test('parseSize reads bytes and K/M/G as powers of 1024', () => {
  assert.equal(parseSize(1048576, 'k'), 1048576);
  assert.equal(parseSize('1048576', 'k'), 1048576);
  assert.equal(parseSize('512K', 'k'), 512 * 1024);
  assert.equal(parseSize('200M', 'k'), 200 * 1024 * 1024);
  assert.equal(parseSize('1G', 'k'), 1024 ** 3);
  assert.equal(parseSize('1.5g', 'k'), 1.5 * 1024 ** 3);
  assert.equal(parseSize('200MB', 'k'), 200 * 1024 * 1024);
  assert.equal(parseSize('1GiB', 'k'), 1024 ** 3);
  assert.equal(parseSize(' 64m ', 'k'), 64 * 1024 * 1024);
  assert.equal(parseSize(0, 'k'), 0);
});

test('parseSize refuses what is not a size, naming the key', () => {
  for (const bad of ['12X', '', 'M', '-1M', -5, true, null, {}, Number.NaN]) {
    assert.throws(
      () => parseSize(bad, 'max_memory_restart'),
      (err: unknown) => err instanceof ConfigError && err.key === 'max_memory_restart' && /max_memory_restart/.test(err.message),
      String(bad),
    );
  }
});

test('parseDuration reads ms, numeric strings and units', () => {
  assert.equal(parseDuration(3000, 'd'), 3000);
  assert.equal(parseDuration('3000', 'd'), 3000);
  assert.equal(parseDuration('500ms', 'd'), 500);
  assert.equal(parseDuration('3s', 'd'), 3000);
  assert.equal(parseDuration('1.5s', 'd'), 1500);
  assert.equal(parseDuration('1m', 'd'), 60_000);
  assert.equal(parseDuration('2h', 'd'), 7_200_000);
  assert.equal(parseDuration('1d', 'd'), 86_400_000);
  assert.equal(parseDuration('10 S', 'd'), 10_000);
});

test('parseDuration refuses what is not a duration, with a hint', () => {
  for (const bad of ['3 seconds', '-1', -1, 'soon', '', false]) {
    assert.throws(
      () => parseDuration(bad, 'kill_timeout'),
      (err: unknown) => err instanceof ConfigError && err.key === 'kill_timeout' && /"3s"/.test(err.hint ?? ''),
      String(bad),
    );
  }
});
