// Bytes from a terminal in raw mode, as the keys `fleet monit` acts on. One
// read may hold several keys (typed fast, or a key held down), and arrows come
// in two spellings: CSI (ESC [ A) and, in application cursor mode, SS3 (ESC O A).

export type Key = 'up' | 'down' | 'pageUp' | 'pageDown' | 'home' | 'end' | 'quit' | 'redraw';

const SEQUENCES: Record<string, Key> = {
  '\u001b[A': 'up',
  '\u001bOA': 'up',
  '\u001b[B': 'down',
  '\u001bOB': 'down',
  '\u001b[5~': 'pageUp',
  '\u001b[6~': 'pageDown',
  '\u001b[H': 'home',
  '\u001bOH': 'home',
  '\u001b[1~': 'home',
  '\u001b[7~': 'home',
  '\u001b[F': 'end',
  '\u001bOF': 'end',
  '\u001b[4~': 'end',
  '\u001b[8~': 'end',
};

const CHARS: Record<string, Key> = {
  k: 'up',
  j: 'down',
  g: 'home',
  G: 'end',
  q: 'quit',
  Q: 'quit',
  // Ctrl-C: raw mode delivers it as a byte, not as SIGINT.
  '\u0003': 'quit',
  // Ctrl-L, as in most full-screen programs.
  '\u000c': 'redraw',
};

/** The keys in one read; anything else (other letters, unknown sequences, a lone Esc) is skipped. */
export function parseKeys(chunk: string): Key[] {
  const keys: Key[] = [];
  let i = 0;
  while (i < chunk.length) {
    if (chunk[i] === '\u001b') {
      const seq = sequenceAt(chunk, i);
      const key = SEQUENCES[seq];
      if (key) keys.push(key);
      i += seq.length;
      continue;
    }
    const key = CHARS[chunk[i]];
    if (key) keys.push(key);
    i++;
  }
  return keys;
}

/** The escape sequence starting at `i`: ESC [ params final, ESC O x, or a lone ESC. */
function sequenceAt(s: string, i: number): string {
  const kind = s[i + 1];
  if (kind === 'O' && i + 2 < s.length) return s.slice(i, i + 3);
  if (kind !== '[') return '\u001b';
  let j = i + 2;
  // Parameter and intermediate bytes, then one final byte (0x40-0x7e).
  while (j < s.length && s.charCodeAt(j) >= 0x20 && s.charCodeAt(j) < 0x40) j++;
  return s.slice(i, Math.min(j + 1, s.length));
}
