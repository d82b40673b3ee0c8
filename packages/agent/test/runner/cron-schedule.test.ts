import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { nextCronDelayMs, validateCron } from '../../src/runner/cron-schedule';

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** 2025-01-01T12:00:00.000Z, a Wednesday. */
const NOON = Date.UTC(2025, 0, 1, 12, 0, 0);

test('delay to the next firing, fixed clock, UTC', () => {
  assert.equal(nextCronDelayMs('0 3 * * *', NOON, 'UTC'), 15 * HOUR);
  assert.equal(nextCronDelayMs('*/15 * * * *', NOON + 7 * MINUTE + 30 * SECOND, 'UTC'), 7 * MINUTE + 30 * SECOND);
  assert.equal(nextCronDelayMs('@hourly', NOON + HOUR - 1, 'UTC'), 1);
  assert.equal(nextCronDelayMs('  0 3 * * *  ', NOON, 'UTC'), 15 * HOUR);
  // Friday 2025-01-03 10:00 -> Monday 09:00.
  assert.equal(nextCronDelayMs('0 9 * * 1-5', Date.UTC(2025, 0, 3, 10), 'UTC'), 2 * DAY + 23 * HOUR);
  assert.equal(nextCronDelayMs('0 0 * * THU', NOON, 'UTC'), 12 * HOUR);
});

test('strictly after now: a firing exactly now is not returned again', () => {
  assert.equal(nextCronDelayMs('0 12 * * *', NOON, 'UTC'), DAY);
  assert.equal(nextCronDelayMs('* * * * *', NOON, 'UTC'), MINUTE);
});

test('six fields: seconds first; sub-second clocks round up to the next second', () => {
  assert.equal(nextCronDelayMs('*/10 * * * * *', NOON + 3 * SECOND, 'UTC'), 7 * SECOND);
  assert.equal(nextCronDelayMs('* * * * * *', NOON + 500, 'UTC'), 500);
  assert.equal(nextCronDelayMs('* * * * * *', NOON + MINUTE - 500, 'UTC'), 500);
});

test('time zones: the expression is read in the given zone', () => {
  // 00:00 UTC is 01:00 in Paris in winter: 03:00 Paris is 2 h away.
  assert.equal(nextCronDelayMs('0 3 * * *', Date.UTC(2025, 0, 1, 0), 'Europe/Paris'), 2 * HOUR);
  assert.equal(nextCronDelayMs('0 3 * * *', Date.UTC(2025, 0, 1, 0), 'UTC'), 3 * HOUR);
});

test('without a zone, the process local zone is used', () => {
  const local = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (const expr of ['0 3 * * *', '30 1 * * 0', '@daily']) {
    assert.equal(nextCronDelayMs(expr, NOON), nextCronDelayMs(expr, NOON, local), expr);
  }
});

test('DST: the autumn repeated hour fires once; the spring missing hour still fires that day', () => {
  const zone = 'America/New_York';
  // 2025-11-02, 01:00-02:00 happens twice. Start at 00:00 EDT.
  let t = Date.UTC(2025, 10, 2, 4);
  const firings: number[] = [];
  for (let i = 0; i < 3; i++) {
    t += nextCronDelayMs('30 1 * * *', t, zone);
    firings.push(t);
  }
  assert.deepEqual(firings, [
    Date.UTC(2025, 10, 2, 5, 30), // 01:30 EDT
    Date.UTC(2025, 10, 3, 6, 30), // 01:30 EST the next day, not 01:30 EST the same day
    Date.UTC(2025, 10, 4, 6, 30),
  ]);
  // 2025-03-09, 02:00-03:00 does not exist. Start at 01:00 EST.
  const spring = nextCronDelayMs('30 2 * * *', Date.UTC(2025, 2, 9, 6), zone);
  assert.ok(spring > 0 && spring < DAY, `fires on the day: ${spring}`);
});

test('firings chain: from one firing, the next is found, never the same one', () => {
  const exprs = ['*/7 * * * *', '0 */5 * * *', '15 3 1,15 * *', '0 0 29 2 *', '@weekly', '*/45 * * * * *'];
  for (const expr of exprs) {
    let t = Date.UTC(2024, 0, 1);
    for (let i = 0; i < 20; i++) {
      const delay = nextCronDelayMs(expr, t, 'UTC');
      assert.ok(delay > 0, `${expr}: positive delay`);
      // One ms before the firing, it is 1 ms away.
      assert.equal(nextCronDelayMs(expr, t + delay - 1, 'UTC'), 1, expr);
      t += delay;
    }
  }
});

test('validateCron accepts what PM2 users write', () => {
  for (const expr of [
    '0 3 * * *',
    '*/15 * * * *',
    '0 0 * * 1-5',
    '0 0 * * MON,THU',
    '0 0 1 jan,jul *',
    '0 0 L * *',
    '*/30 * * * * *',
    '0 0 29 2 *',
    '@daily',
    '@hourly',
    '@weekly',
  ]) {
    assert.equal(validateCron(expr), null, expr);
  }
});

test('validateCron rejects with a message saying what is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['', /^empty cron expression; expected 5 fields/],
    ['   ', /^empty cron expression/],
    ['* * * *', /^"\* \* \* \*" has 4 fields; expected 5 fields/],
    ['* * * * * * *', /has 7 fields/],
    ['daily', /has 1 field;/],
    ['61 * * * *', /^"61 \* \* \* \*": Constraint error, got value 61 expected range 0-59$/],
    ['0 0 31 4 *', /Invalid explicit day of month/],
    ['*/0 * * * *', /cannot repeat at every 0/],
    ['@reboot', /^"@reboot": unknown alias; use @yearly/],
    ['H * * * *', /hashed values \(H\) are not supported/],
    ['0 H(0-3) * * *', /hashed values \(H\(0-3\)\)/],
    ['0 1,H/5 * * *', /hashed values/],
  ];
  for (const [expr, message] of cases) {
    const problem = validateCron(expr);
    assert.ok(problem !== null, `${JSON.stringify(expr)} accepted`);
    assert.match(problem, message, expr);
  }
});

test('nextCronDelayMs throws on what validateCron rejects, and on an unknown zone', () => {
  assert.throws(() => nextCronDelayMs('* * * *', NOON), /^Error: invalid cron_restart: .* has 4 fields/);
  assert.throws(() => nextCronDelayMs('0 3 * * *', NOON, 'Mars/Olympus'), /invalid time zone "Mars\/Olympus"/);
});
