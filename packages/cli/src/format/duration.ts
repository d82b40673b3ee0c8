// Durations as people read uptimes: the largest unit, then the next when it adds
// information (45s, 3m12s, 5h3m, 2d4h). Milliseconds only below one second.
const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms <= 0) return '0s';
  if (ms < SECOND) return `${Math.round(ms)}ms`;
  const steps: Array<[number, string]> = [
    [DAY, 'd'],
    [HOUR, 'h'],
    [MINUTE, 'm'],
    [SECOND, 's'],
  ];
  for (let i = 0; i < steps.length; i++) {
    const [size, label] = steps[i];
    if (ms < size) continue;
    const whole = Math.floor(ms / size);
    const next = steps[i + 1];
    if (!next) return `${whole}${label}`;
    const rest = Math.floor((ms - whole * size) / next[0]);
    return rest > 0 ? `${whole}${label}${rest}${next[1]}` : `${whole}${label}`;
  }
  return '0s';
}

/** A millisecond setting, shown exactly (1600ms, 3s, 1m30s) since users set these by hand. */
export function formatMs(ms: number): string {
  if (ms === 0) return '0';
  if (ms % SECOND !== 0 || ms < SECOND) return `${ms}ms`;
  return formatDuration(ms);
}
