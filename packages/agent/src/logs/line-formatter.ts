// Turns one line of an app's output into the bytes written to its log file:
// PM2's `log_date_format` prefix (`<date>: <line>`) or, with `json`, one
// object per line. Runs for every line the runner sees (10k+/s for a chatty
// app), so the date is formatted at most once per second: the per-second part
// is rendered into a template and only millisecond tokens are filled per line.

export interface LineFormatterOptions {
  /** moment-style tokens (PM2 log_date_format); '' for no timestamp. */
  dateFormat: string;
  json: boolean;
  app: string;
  instance: number;
  stream: 'out' | 'err';
  /** Injected clock for tests; Date.now by default. */
  now?: () => number;
}

/** Returns a function mapping a line (without its '\n') to the full text to write, '\n' included. */
export function createLineFormatter(opts: LineFormatterOptions): (line: string) => string {
  const now = opts.now ?? Date.now;
  const date = opts.dateFormat === '' ? null : createDateFormatter(opts.dateFormat);

  if (opts.json) {
    // Keys in a fixed order; everything but time and message is constant.
    const middle =
      `,"app":${JSON.stringify(opts.app)},"instance":${opts.instance}` + `,"stream":${JSON.stringify(opts.stream)},"message":`;
    const timeOf = date ?? isoFormatter();
    let lastMs = NaN;
    let lastHead = '';
    return (line) => {
      const t = now();
      if (t !== lastMs) {
        lastMs = t;
        lastHead = `{"time":${JSON.stringify(timeOf(t))}${middle}`;
      }
      return `${lastHead}${JSON.stringify(line)}}\n`;
    };
  }

  if (date === null) return (line) => `${line}\n`;
  let lastMs = NaN;
  let lastPrefix = '';
  return (line) => {
    const t = now();
    if (t !== lastMs) {
      lastMs = t;
      lastPrefix = `${date(t)}: `;
    }
    return lastPrefix + line + '\n';
  };
}

function isoFormatter(): (t: number) => string {
  return (t) => new Date(t).toISOString();
}

// A compiled format is a list of parts: literal text, tokens that depend on
// the second (rendered once per second) and tokens of the millisecond.
type SecondToken = (d: Date) => string;
type MilliToken = (ms: number, t: number) => string;
type Part = { kind: 'lit'; text: string } | { kind: 'sec'; fn: SecondToken } | { kind: 'ms'; fn: MilliToken };

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

const pad2 = (n: number): string => (n < 10 ? `0${n}` : `${n}`);
const pad3 = (n: number): string => (n < 10 ? `00${n}` : n < 100 ? `0${n}` : `${n}`);
const hour12 = (d: Date): number => d.getHours() % 12 || 12;

function offset(d: Date, sep: string): string {
  // getTimezoneOffset is minutes *behind* UTC, so the sign is inverted.
  const off = -d.getTimezoneOffset();
  const abs = Math.abs(off);
  return `${off < 0 ? '-' : '+'}${pad2(Math.floor(abs / 60))}${sep}${pad2(abs % 60)}`;
}

// Longest tokens first so `YYYY` wins over `YY`, `MMMM` over `MM`. Local time, as moment and PM2 do.
const SECOND_TOKENS: Array<[string, SecondToken]> = [
  ['YYYY', (d) => String(d.getFullYear()).padStart(4, '0')],
  ['MMMM', (d) => MONTHS[d.getMonth()]!],
  ['dddd', (d) => DAYS[d.getDay()]!],
  ['MMM', (d) => MONTHS[d.getMonth()]!.slice(0, 3)],
  ['ddd', (d) => DAYS[d.getDay()]!.slice(0, 3)],
  ['YY', (d) => pad2(d.getFullYear() % 100)],
  ['MM', (d) => pad2(d.getMonth() + 1)],
  ['DD', (d) => pad2(d.getDate())],
  ['HH', (d) => pad2(d.getHours())],
  ['hh', (d) => pad2(hour12(d))],
  ['mm', (d) => pad2(d.getMinutes())],
  ['ss', (d) => pad2(d.getSeconds())],
  ['ZZ', (d) => offset(d, '')],
  ['M', (d) => String(d.getMonth() + 1)],
  ['D', (d) => String(d.getDate())],
  ['H', (d) => String(d.getHours())],
  ['h', (d) => String(hour12(d))],
  ['m', (d) => String(d.getMinutes())],
  ['s', (d) => String(d.getSeconds())],
  ['Z', (d) => offset(d, ':')],
  ['A', (d) => (d.getHours() < 12 ? 'AM' : 'PM')],
  ['a', (d) => (d.getHours() < 12 ? 'am' : 'pm')],
  ['X', (d) => String(Math.floor(d.getTime() / 1000))],
];

const MILLI_TOKENS: Array<[string, MilliToken]> = [
  ['SSS', (ms) => pad3(ms)],
  ['SS', (ms) => pad2(Math.floor(ms / 10))],
  ['S', (ms) => String(Math.floor(ms / 100))],
  ['x', (_ms, t) => String(t)],
];

/** Parses a moment-style format; `[text]` is literal, unknown letters are kept as they are. */
function compileDateFormat(format: string): Part[] {
  const parts: Part[] = [];
  const literal = (text: string): void => {
    const last = parts[parts.length - 1];
    if (last?.kind === 'lit') last.text += text;
    else parts.push({ kind: 'lit', text });
  };
  let i = 0;
  outer: while (i < format.length) {
    if (format[i] === '[') {
      const end = format.indexOf(']', i + 1);
      if (end !== -1) {
        literal(format.slice(i + 1, end));
        i = end + 1;
        continue;
      }
    }
    for (const [tok, fn] of MILLI_TOKENS) {
      if (format.startsWith(tok, i)) {
        parts.push({ kind: 'ms', fn });
        i += tok.length;
        continue outer;
      }
    }
    for (const [tok, fn] of SECOND_TOKENS) {
      if (format.startsWith(tok, i)) {
        parts.push({ kind: 'sec', fn });
        i += tok.length;
        continue outer;
      }
    }
    literal(format[i]!);
    i++;
  }
  return parts;
}

/** Formats epoch milliseconds with a moment-style format, caching the per-second rendering. */
export function createDateFormatter(format: string): (t: number) => string {
  const parts = compileDateFormat(format);
  let cachedSecond = NaN;
  // After rendering a second: literal strings interleaved with millisecond tokens.
  let template: Array<string | MilliToken> = [];
  return (t) => {
    const second = Math.floor(t / 1000);
    if (second !== cachedSecond) {
      cachedSecond = second;
      const d = new Date(second * 1000);
      template = [];
      for (const p of parts) {
        const text = p.kind === 'lit' ? p.text : p.kind === 'sec' ? p.fn(d) : null;
        if (text === null) template.push((p as { fn: MilliToken }).fn);
        else if (typeof template[template.length - 1] === 'string') template[template.length - 1] += text;
        else template.push(text);
      }
    }
    if (template.length === 1 && typeof template[0] === 'string') return template[0];
    const ms = t - second * 1000;
    let out = '';
    for (const p of template) out += typeof p === 'string' ? p : p(ms, t);
    return out;
  };
}
