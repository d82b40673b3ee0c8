// CPU share: one decimal below 10 % where small differences matter, whole numbers above.
export function formatPercent(p: number): string {
  if (!Number.isFinite(p) || p <= 0) return '0%';
  return `${p >= 10 ? Math.round(p) : Math.round(p * 10) / 10}%`;
}
