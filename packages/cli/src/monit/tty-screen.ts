// The terminal side of `fleet monit`, with plain ANSI/VT100 sequences that any
// terminal and any ssh session understand: the alternate screen (the shell's
// screen comes back untouched on exit), no cursor, no auto-wrap, raw keys.
//
// Whatever way the program ends — q, Ctrl-C, SIGTERM, SIGHUP, an exception —
// close() runs once and puts the terminal back: cooked mode, cursor, wrap,
// the main screen. The 'exit' hook covers the paths that skip the others
// (writes to a TTY are synchronous, so it still reaches the terminal).
import { parseKeys, type Key } from './keys';
import type { ScreenSize } from './monit-render';
import { displayWidth } from './screen-text';

const CSI = '\u001b[';
const ENTER = `${CSI}?1049h${CSI}?25l${CSI}?7l${CSI}2J${CSI}H`;
// Back on the main screen first, then wrap and cursor on: set there, they cannot be lost with the alternate screen.
const LEAVE = `${CSI}0m${CSI}?1049l${CSI}?7h${CSI}?25h`;

/** What the monit loop draws on and reads keys from; a fake one in tests. */
export interface Screen {
  size(): ScreenSize;
  draw(lines: string[]): void;
  onKey(handler: (key: Key) => void): void;
  onResize(handler: () => void): void;
  /** Blank the screen, so the next draw repaints all of it (Ctrl-L). */
  clear(): void;
  /** Whether keys can be read (stdin is a terminal). */
  readonly keys: boolean;
  close(): void;
}

export interface TtyOutput {
  write(chunk: string): unknown;
  columns?: number;
  rows?: number;
  on?(event: 'resize', listener: () => void): unknown;
  off?(event: 'resize', listener: () => void): unknown;
}

export interface TtyInput {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  setEncoding?(encoding: BufferEncoding): unknown;
  on(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: string | Buffer) => void): unknown;
  resume(): unknown;
  pause(): unknown;
}

export interface ProcessHooks {
  on(event: 'exit', listener: () => void): unknown;
  off(event: 'exit', listener: () => void): unknown;
}

/** One frame as one write: home, each line with the rest of its row cleared, then the rows below cleared. */
export function frameText(lines: string[], columns: number): string {
  let out = `${CSI}H`;
  lines.forEach((line, i) => {
    // A line that fills the row leaves the cursor in the last column: clearing
    // "to the end" there would erase that column's character.
    out += displayWidth(line) < columns ? `${line}${CSI}K` : line;
    if (i < lines.length - 1) out += '\r\n';
  });
  return `${out}${CSI}J`;
}

export function openTtyScreen(output: TtyOutput, input: TtyInput, proc: ProcessHooks): Screen {
  const keys = input.isTTY === true && typeof input.setRawMode === 'function';
  const keyHandlers: Array<(key: Key) => void> = [];
  const resizeHandlers: Array<() => void> = [];
  let closed = false;
  let last = '';

  const onData = (chunk: string | Buffer): void => {
    for (const key of parseKeys(chunk.toString())) for (const h of keyHandlers) h(key);
  };
  const clear = (): void => {
    if (closed) return;
    last = '';
    output.write(`${CSI}2J`);
  };
  const onResize = (): void => {
    // Everything moves on a resize: start from a blank screen.
    clear();
    for (const h of resizeHandlers) h();
  };
  const restore = (): void => {
    if (closed) return;
    closed = true;
    output.off?.('resize', onResize);
    proc.off('exit', restore);
    if (keys) {
      input.off('data', onData);
      input.setRawMode!(false);
      input.pause();
    }
    output.write(LEAVE);
  };

  output.write(ENTER);
  output.on?.('resize', onResize);
  proc.on('exit', restore);
  if (keys) {
    input.setRawMode!(true);
    input.setEncoding?.('utf8');
    input.on('data', onData);
    input.resume();
  }

  return {
    keys,
    size: () => ({ columns: output.columns ?? 80, rows: output.rows ?? 24 }),
    draw: (lines) => {
      if (closed) return;
      const text = frameText(lines, output.columns ?? 80);
      // Unchanged frames are not sent: over a slow ssh link every byte counts.
      if (text === last) return;
      last = text;
      output.write(text);
    },
    onKey: (h) => keyHandlers.push(h),
    onResize: (h) => resizeHandlers.push(h),
    clear,
    close: restore,
  };
}
