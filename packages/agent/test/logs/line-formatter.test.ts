import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { createDateFormatter, createLineFormatter } from '../../src/logs/line-formatter';

// Local time is what moment (and PM2) print; pin the zone so expectations are exact.
process.env.TZ = 'UTC';

const T = Date.UTC(2024, 0, 2, 3, 4, 5, 67); // 2024-01-02 03:04:05.067 UTC, a Tuesday

describe('createDateFormatter', () => {
  it('formats the PM2 tokens', () => {
    const f = (fmt: string): string => createDateFormatter(fmt)(T);
    assert.equal(f('YYYY-MM-DD HH:mm:ss.SSS'), '2024-01-02 03:04:05.067');
    assert.equal(f('YYYY-MM-DDTHH:mm:ssZ'), '2024-01-02T03:04:05+00:00');
    assert.equal(f('YY/M/D H:m:s ZZ'), '24/1/2 3:4:5 +0000');
    assert.equal(f('hh:mm A a'), '03:04 AM am');
    assert.equal(f('ddd MMM D, dddd MMMM'), 'Tue Jan 2, Tuesday January');
    assert.equal(f('SS S'), '06 0');
    assert.equal(f('X x'), `${Math.floor(T / 1000)} ${T}`);
  });

  it('keeps [bracketed] text and unknown characters literally', () => {
    assert.equal(createDateFormatter('[Today is] YYYY [at] HH:mm | !')(T), 'Today is 2024 at 03:04 | !');
    assert.equal(createDateFormatter('[YYYY] YYYY')(T), 'YYYY 2024');
  });

  it('uses the local zone, with its offset', () => {
    process.env.TZ = 'Asia/Kolkata';
    try {
      assert.equal(createDateFormatter('YYYY-MM-DD HH:mm Z')(T), '2024-01-02 08:34 +05:30');
      process.env.TZ = 'America/New_York';
      assert.equal(createDateFormatter('DD HH:mm ZZ hh A')(T), '01 22:04 -0500 10 PM');
    } finally {
      process.env.TZ = 'UTC';
    }
  });

  it('re-renders when the millisecond or the second changes despite the cache', () => {
    const f = createDateFormatter('HH:mm:ss.SSS');
    assert.equal(f(T), '03:04:05.067');
    assert.equal(f(T + 1), '03:04:05.068');
    assert.equal(f(T + 933), '03:04:06.000');
    assert.equal(f(T + 60_000), '03:05:05.067');
    assert.equal(f(T), '03:04:05.067');
    const noMs = createDateFormatter('HH:mm:ss');
    assert.equal(noMs(T), '03:04:05');
    assert.equal(noMs(T + 932), '03:04:05');
    assert.equal(noMs(T + 933), '03:04:06');
  });
});

describe('createLineFormatter', () => {
  const base = { app: 'api', instance: 2, stream: 'out' as const };

  it('leaves the line unchanged without a format or json', () => {
    const f = createLineFormatter({ ...base, dateFormat: '', json: false });
    assert.equal(f('hello'), 'hello\n');
    assert.equal(f(''), '\n');
  });

  it('prefixes "<date>: " like PM2', () => {
    let now = T;
    const f = createLineFormatter({ ...base, dateFormat: 'YYYY-MM-DD HH:mm:ss.SSS', json: false, now: () => now });
    assert.equal(f('a'), '2024-01-02 03:04:05.067: a\n');
    now += 1000;
    assert.equal(f('b'), '2024-01-02 03:04:06.067: b\n');
  });

  it('writes one JSON object per line, ISO time without a format', () => {
    const f = createLineFormatter({ ...base, stream: 'err', dateFormat: '', json: true, now: () => T });
    const out = f('he said "hi"\tthen\u2028left');
    assert.ok(out.endsWith('}\n'));
    assert.equal(out.indexOf('\n'), out.length - 1, 'exactly one line');
    assert.deepEqual(JSON.parse(out), {
      time: '2024-01-02T03:04:05.067Z',
      app: 'api',
      instance: 2,
      stream: 'err',
      message: 'he said "hi"\tthen\u2028left',
    });
    assert.deepEqual(Object.keys(JSON.parse(out)), ['time', 'app', 'instance', 'stream', 'message']);
  });

  it('uses the date format for the JSON time when given', () => {
    const f = createLineFormatter({ ...base, app: 'we"ird', dateFormat: 'HH:mm', json: true, now: () => T });
    assert.deepEqual(JSON.parse(f('x')), { time: '03:04', app: 'we"ird', instance: 2, stream: 'out', message: 'x' });
  });
});
