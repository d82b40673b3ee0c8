// Sizes and durations as people write them in ecosystem files: numbers,
// numeric strings ("3000"), and numbers with a unit ("200M", "3s").
import { ConfigError } from './config-error';

// Binary multiples, as PM2 computes max_memory_restart ("1K" = 1024 bytes).
const SIZE_UNITS: Record<string, number> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

// "512", "512K", "200M", "200MB", "1.5G", "1GiB", "100b".
const SIZE_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*([kmgt]?)(?:i?b)?$/i;

/** Bytes from 1048576, "1048576", "512K", "200M", "1G" (units are powers of 1024). */
export function parseSize(v: unknown, key: string): number {
  const n = typeof v === 'string' ? parseWithUnit(v, SIZE_RE, SIZE_UNITS) : v;
  if (typeof n === 'number' && Number.isFinite(n) && n >= 0) return Math.round(n);
  throw new ConfigError(`${key} ${JSON.stringify(v)} is not a size`, {
    key,
    hint: `write ${key} as bytes or a number with K, M or G, e.g. "512M" or "1G"`,
  });
}

const DURATION_UNITS: Record<string, number> = { '': 1, ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

// "3000", "500ms", "3s", "1.5s", "1m", "2h", "1d".
const DURATION_RE = /^(\d+(?:\.\d+)?|\.\d+)\s*(ms|s|m|h|d)?$/i;

/** Milliseconds from 3000, "3000", "500ms", "3s", "1m", "2h", "1d" (a bare number is ms). */
export function parseDuration(v: unknown, key: string): number {
  const n = typeof v === 'string' ? parseWithUnit(v, DURATION_RE, DURATION_UNITS) : v;
  if (typeof n === 'number' && Number.isFinite(n) && n >= 0) return Math.round(n);
  throw new ConfigError(`${key} ${JSON.stringify(v)} is not a duration`, {
    key,
    hint: `write ${key} in milliseconds or with a unit, e.g. 3000, "500ms", "3s" or "1m"`,
  });
}

function parseWithUnit(text: string, re: RegExp, units: Record<string, number>): number | undefined {
  const m = re.exec(text.trim());
  if (!m) return undefined;
  const factor = units[(m[2] ?? '').toLowerCase()];
  return factor === undefined ? undefined : Number(m[1]) * factor;
}
