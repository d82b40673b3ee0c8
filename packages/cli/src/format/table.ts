// Plain aligned columns (Nomad style, no box): easy to read, easy to grep and cut.
import { visibleLength } from './color';

export type Align = 'left' | 'right';

export interface Column {
  header: string;
  align?: Align;
}

const GAP = '  ';

export function renderTable(columns: Column[], rows: string[][]): string {
  const widths = columns.map((c, i) => Math.max(visibleLength(c.header), ...rows.map((r) => visibleLength(r[i] ?? ''))));
  const line = (cells: string[]): string =>
    columns
      .map((c, i) => pad(cells[i] ?? '', widths[i], c.align ?? 'left', i === columns.length - 1))
      .join(GAP)
      .trimEnd();
  return [line(columns.map((c) => c.header)), ...rows.map(line)].join('\n') + '\n';
}

function pad(cell: string, width: number, align: Align, last: boolean): string {
  const fill = ' '.repeat(Math.max(0, width - visibleLength(cell)));
  if (align === 'right') return fill + cell;
  return last ? cell : cell + fill;
}
