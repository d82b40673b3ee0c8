// cron_restart: when the next scheduled restart is due. The runner sets one
// timer for the returned delay, restarts, then asks again; the clock is passed
// in, so the same expression and time always give the same answer.
//
// Expressions are read as PM2 users write them: 5 fields (minute hour
// day-of-month month day-of-week), or 6 with seconds first, or an alias
// (@daily, @hourly, @weekly, ...), in the server's local time zone unless one is
// given. Parsing is cron-parser's; two things it accepts are refused here:
// - fewer than 5 fields ("* * * *", even ""), which it silently pads, so a typo
//   would restart an app every minute;
// - Jenkins' hashed `H` values, which it draws at random on every parse, so the
//   schedule would move each time it is computed.

import { CronExpressionParser } from 'cron-parser';

const FIELDS_HINT =
  'expected 5 fields (minute hour day-of-month month day-of-week), 6 with seconds first, or an alias like @daily';

/** A fixed instant to try the expression from: validation must not read the clock. */
const PROBE_FROM_MS = Date.UTC(2000, 0, 1);

/** Null when `expr` is a usable cron_restart expression, else what is wrong with it. */
export function validateCron(expr: string): string | null {
  const trimmed = expr.trim();
  if (trimmed === '') return `empty cron expression; ${FIELDS_HINT}`;
  if (!trimmed.startsWith('@')) {
    const fields = trimmed.split(/\s+/);
    if (fields.length < 5 || fields.length > 6) {
      return `"${trimmed}" has ${fields.length} field${fields.length === 1 ? '' : 's'}; ${FIELDS_HINT}`;
    }
    const hashed = fields.find((f) => f.split(',').some((part) => /^H(\(|\/|$)/.test(part)));
    if (hashed !== undefined) {
      return `"${trimmed}": hashed values (${hashed}) are not supported; write the time explicitly`;
    }
  }
  try {
    // next() too: some expressions parse yet never fire.
    CronExpressionParser.parse(trimmed, { currentDate: PROBE_FROM_MS, tz: 'UTC' }).next();
    return null;
  } catch (err) {
    if (trimmed.startsWith('@')) {
      return `"${trimmed}": unknown alias; use @yearly, @monthly, @weekly, @daily or @hourly, or 5 fields`;
    }
    return `"${trimmed}": ${err instanceof Error ? err.message : String(err)}`;
  }
}

/**
 * Milliseconds from `nowMs` to the next time `expr` fires, strictly after
 * `nowMs` (so restarting exactly on the minute does not fire again at once).
 * `tz` is an IANA zone (Europe/Paris); default: the process's local zone.
 * Throws on an expression validateCron rejects: the spec compiler is
 * expected to have refused it already.
 */
export function nextCronDelayMs(expr: string, nowMs: number, tz?: string): number {
  const problem = validateCron(expr);
  if (problem !== null) throw new Error(`invalid cron_restart: ${problem}`);
  if (tz !== undefined && !isTimeZone(tz)) {
    throw new Error(`invalid time zone "${tz}": expected an IANA name like Europe/Paris`);
  }
  const next = CronExpressionParser.parse(expr.trim(), {
    currentDate: nowMs,
    ...(tz === undefined ? {} : { tz }),
  }).next();
  return next.getTime() - nowMs;
}

function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}
