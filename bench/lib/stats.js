'use strict';
// Small statistics and number formatting for bench output.

function median(xs) {
  const v = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return NaN;
  const mid = v.length >> 1;
  return v.length % 2 ? v[mid] : (v[mid - 1] + v[mid]) / 2;
}

function mean(xs) {
  const v = xs.filter((x) => Number.isFinite(x));
  return v.length ? v.reduce((a, b) => a + b, 0) / v.length : NaN;
}

function sum(xs) {
  return xs.reduce((a, b) => a + (Number.isFinite(b) ? b : 0), 0);
}

/** A readable number: 3 significant digits below 100, integers above. */
function num(x) {
  if (x === undefined || x === null || Number.isNaN(x)) return '—';
  if (!Number.isFinite(x)) return String(x);
  const a = Math.abs(x);
  if (a >= 100) return Math.round(x).toLocaleString('en-US');
  if (a >= 10) return x.toFixed(1);
  if (a >= 1) return x.toFixed(2);
  if (a === 0) return '0';
  return x.toPrecision(2);
}

function mb(bytes) {
  return bytes / (1024 * 1024);
}

/** Each value of a list with a fixed format, for "rounds: …" lines. */
function list(xs, fmt = num) {
  return xs.map(fmt).join(', ');
}

/** The q-quantile (nearest rank) of numbers sorted ascending; NaN for none. */
function quantile(sorted, q) {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))];
}

module.exports = { median, mean, sum, num, mb, list, quantile };
