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
  /** Set only on a line standing for lost lines: how many. */
  dropped?: number;
}

export function logLineJson(l: LogLine): LogLineJson {
  const json: LogLineJson = { app: l.app, instance: l.instance, stream: streamWord(l.stream), line: l.line, timeMs: l.timeMs, host: l.host };
  if (l.dropped > 0) json.dropped = l.dropped;
  return json;
}

/** `host/app#instance`; the host only when the lines come from a fleet (noise in local mode). */
export function renderLogLine(l: LogLine, colors: Colors, showHost = false): string {
  // A drop notice is about a host (or this reader), not an instance.
  if (l.dropped > 0) return `${colors.yellow(`${l.host || 'fleet'} |`)} ${l.line}\n`;
  const who = `${showHost && l.host ? `${l.host}/` : ''}${l.app}#${l.instance}`;
  if (streamWord(l.stream) === 'err') return `${colors.red(`${who} err |`)} ${l.line}\n`;
  return `${colors.cyan(`${who} |`)} ${l.line}\n`;
}
