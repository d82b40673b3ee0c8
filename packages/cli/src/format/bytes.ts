// Sizes in binary units, short enough for a table column: 0B, 512B, 1.5KB, 45.2MB, 1.2GB.
const UNITS = ['B', 'KB', 'MB', 'GB', 'TB'];

export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes) || bytes <= 0) return '0B';
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  if (unit === 0) return `${Math.round(value)}B`;
  // 1023.96KB would print as "1024.0KB"; carry it up instead.
  if (value >= 1023.95 && unit < UNITS.length - 1) return `1.0${UNITS[unit + 1]}`;
  return `${value.toFixed(1)}${UNITS[unit]}`;
}
