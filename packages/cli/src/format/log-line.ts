// Log lines as `app#instance | line`; error-stream lines carry `err` before the
// bar (and red when coloured) so they stay distinct without colour, PM2 style.
import type { LogLine } from '@fleet/protocol';
import type { Colors } from './color';
import { streamWord, type StreamWord } from './status';

export interface LogLineJson {
  app: string;
  instance: number;
  stream: StreamWord;
  line: string;
  timeMs: number;
  host: string;
}

export function logLineJson(l: LogLine): LogLineJson {
  return { app: l.app, instance: l.instance, stream: streamWord(l.stream), line: l.line, timeMs: l.timeMs, host: l.host };
}

/** `localHost`: lines from this machine get no host prefix; it is noise in local mode. */
export function renderLogLine(l: LogLine, colors: Colors, localHost = ''): string {
  const who = `${l.host && l.host !== localHost ? `${l.host}:` : ''}${l.app}#${l.instance}`;
  if (streamWord(l.stream) === 'err') return `${colors.red(`${who} err |`)} ${l.line}\n`;
  return `${colors.cyan(`${who} |`)} ${l.line}\n`;
}
