// Text measured as a terminal lays it out: escape codes take no columns, East
// Asian wide characters and most emoji take two, combining marks none. A line
// that is one column too wide wraps and scrolls the whole screen, so every line
// of `fleet monit` goes through fitWidth().

/** SGR and other CSI sequences (colours, inverse), and OSC sequences (titles, links). */
// eslint-disable-next-line no-control-regex
const ESCAPE = /\u001b\[[0-?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(?:\u0007|\u001b\\)|\u001b[@-Z\\-_]/g;
const ESCAPE_AT = new RegExp(ESCAPE.source, 'y');
const RESET = '\u001b[0m';

/** The columns one code point takes: 0, 1 or 2. */
export function charWidth(cp: number): number {
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp < 0x300) return 1;
  // Combining marks, zero-width space/joiners, variation selectors.
  if (
    (cp >= 0x300 && cp <= 0x36f) ||
    (cp >= 0x1ab0 && cp <= 0x1aff) ||
    (cp >= 0x1dc0 && cp <= 0x1dff) ||
    (cp >= 0x200b && cp <= 0x200f) ||
    (cp >= 0x20d0 && cp <= 0x20ff) ||
    (cp >= 0xfe00 && cp <= 0xfe0f) ||
    (cp >= 0xfe20 && cp <= 0xfe2f) ||
    (cp >= 0xe0100 && cp <= 0xe01ef)
  ) {
    return 0;
  }
  if (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  ) {
    return 2;
  }
  return 1;
}

/** Columns taken on screen. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s.replace(ESCAPE, '')) w += charWidth(ch.codePointAt(0)!);
  return w;
}

/**
 * Text from outside (log lines, app and metric names) made safe to draw: its
 * own escape codes removed (an app's colours, or a cursor move that would tear
 * the screen), tabs as spaces, other control characters dropped.
 */
export function sanitize(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(ESCAPE, '').replace(/\t/g, '    ').replace(/[\u0000-\u001f\u007f-\u009f]/g, '');
}

/**
 * Cut to `width` columns (escape codes kept, a reset added after a cut that
 * may have left one open), then, with `pad`, filled with spaces to exactly `width`.
 */
export function fitWidth(s: string, width: number, pad = false): string {
  if (width <= 0) return '';
  let out = '';
  let w = 0;
  let styled = false;
  let cut = false;
  let i = 0;
  while (i < s.length) {
    if (s[i] === '\u001b') {
      ESCAPE_AT.lastIndex = i;
      const m = ESCAPE_AT.exec(s);
      if (m) {
        out += m[0];
        styled = true;
        i += m[0].length;
        continue;
      }
    }
    const cp = s.codePointAt(i)!;
    const ch = String.fromCodePoint(cp);
    const cw = charWidth(cp);
    if (w + cw > width) {
      cut = true;
      break;
    }
    out += ch;
    w += cw;
    i += ch.length;
  }
  if (cut && styled) out += RESET;
  return pad && w < width ? out + ' '.repeat(width - w) : out;
}

/** Left- or right-aligned to `width` columns (never cut). */
export function padTo(s: string, width: number, align: 'left' | 'right' = 'left'): string {
  const fill = ' '.repeat(Math.max(0, width - displayWidth(s)));
  return align === 'right' ? fill + s : s + fill;
}
