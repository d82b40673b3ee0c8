// `args: "--port 3000 --name 'my app'"` is split the way a POSIX shell would
// split it (quotes and backslashes), without expanding anything: no variables,
// no globs. An array is taken as it is.
import { ConfigError } from './config-error';

export function splitArgs(text: string, key: string): string[] {
  const out: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quote === "'") {
      if (ch === "'") quote = undefined;
      else current += ch;
    } else if (quote === '"') {
      if (ch === '"') quote = undefined;
      // Inside double quotes a backslash escapes only what the shell lets it escape.
      else if (ch === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) current += text[++i];
      else current += ch;
    } else if (ch === "'" || ch === '"') {
      quote = ch;
      inWord = true;
    } else if (ch === '\\') {
      if (i + 1 < text.length) current += text[++i];
      inWord = true;
    } else if (/\s/.test(ch)) {
      if (inWord) out.push(current);
      current = '';
      inWord = false;
    } else {
      current += ch;
      inWord = true;
    }
  }
  if (quote) {
    throw new ConfigError(`${key} has an unterminated ${quote} quote: ${JSON.stringify(text)}`, {
      key,
      hint: `close the quote, or write ${key} as an array of strings`,
    });
  }
  if (inWord) out.push(current);
  return out;
}
