// cron_restart is checked when the config is compiled, not when the first
// restart is due, so a typo is reported while someone is looking.
import { CronExpressionParser } from 'cron-parser';
import { ConfigError } from './config-error';

/** The expression trimmed, or "" when unset (PM2 treats any falsy value as none). */
export function parseCron(v: unknown, key: string): string {
  if (v === undefined || v === null || v === false || v === '' || v === 0) return '';
  if (typeof v !== 'string') {
    throw new ConfigError(`${key} must be a cron expression string, got ${JSON.stringify(v)}`, {
      key,
      hint: `e.g. ${key}: "0 3 * * *" (every day at 03:00)`,
    });
  }
  const expr = v.trim();
  const hint = 'five fields (minute hour day-of-month month day-of-week), or six with seconds first, e.g. "0 3 * * *"';
  // The parser fills in missing fields ("* * *" would mean every second); PM2's cron library does not.
  const fields = expr.split(/\s+/).length;
  if (!expr.startsWith('@') && (fields < 5 || fields > 6)) {
    throw new ConfigError(`${key} "${expr}" is not a valid cron expression: it has ${fields} field${fields === 1 ? '' : 's'}`, { key, hint });
  }
  try {
    CronExpressionParser.parse(expr);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new ConfigError(`${key} "${expr}" is not a valid cron expression: ${why}`, {
      key,
      hint,
      cause: err,
    });
  }
  return expr;
}
