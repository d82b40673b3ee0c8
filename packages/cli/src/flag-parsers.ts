// Flag value parsers. They reject what cannot be right before anything is sent,
// and commander turns the rejection into a usage error (exit 2). Values the
// config compiler understands (sizes like "200M", "max") are passed on as typed,
// so parsing rules live once, in the compiler.
import { InvalidArgumentError } from 'commander';

/** PM2's -i: a positive count, "max" (one per CPU) or -1 (one per CPU but one). */
export function parseInstances(value: string): number | 'max' {
  const v = value.trim().toLowerCase();
  if (v === 'max') return 'max';
  if (v === '-1') return -1;
  if (/^\d+$/.test(v) && Number(v) > 0) return Number(v);
  if (v === '0') {
    throw new InvalidArgumentError("0 instances would start nothing; use a positive number, 'max' (one per CPU) or -1 (one per CPU but one).");
  }
  throw new InvalidArgumentError("use a positive number, 'max' (one per CPU) or -1 (one per CPU but one).");
}

/** A size such as 200M, 1G, 512K, 300MB or a byte count (0: off). */
export function parseSize(value: string): string {
  const v = value.trim();
  if (!/^(\d+(\.\d+)?|\.\d+)\s*([kmgt]?)(i?b)?$/i.test(v)) {
    throw new InvalidArgumentError('use a size such as 200M, 1G or 512K.');
  }
  return v;
}

/** A duration: milliseconds (3000) or with a unit (500ms, 3s, 1m), as config files take it. */
export function parseMs(value: string): number | string {
  const v = value.trim();
  if (/^\d+$/.test(v) && Number.isSafeInteger(Number(v))) return Number(v);
  if (/^(\d+(\.\d+)?|\.\d+)\s*(ms|s|m|h|d)$/i.test(v)) return v;
  throw new InvalidArgumentError('use milliseconds (3000) or a duration with a unit (500ms, 3s, 1m).');
}

export function parseCount(value: string): number {
  const v = value.trim();
  if (!/^\d+$/.test(v) || !Number.isSafeInteger(Number(v))) throw new InvalidArgumentError('use a whole number, 0 or more.');
  return Number(v);
}

/** Repeatable, comma-separated list: --ignore-watch a,b --ignore-watch c → [a, b, c]. */
export function collectList(value: string, previous: string[] | undefined): string[] {
  const items = value
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  return [...(previous ?? []), ...items];
}

/** scale's count: "4" sets it, "+2" / "-1" change it. */
export function isScaleCount(value: string): boolean {
  return /^[+-]?\d+$/.test(value.trim());
}
