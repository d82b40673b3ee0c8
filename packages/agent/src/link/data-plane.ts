// Where an agent's log lines go up. The controller link sends them over its
// gRPC stream unless a data plane takes them over (NATS, `fleet agent --nats`);
// either way they come from the same bounded buffer, so an outage of the one
// or the other ends the same: lines wait, then the oldest are dropped and counted.
import type { LogLine } from '@fleet/protocol';
import type { LogBuffer } from './log-buffer';

export interface DataPlane {
  /** Takes lines from `buffer` from now on; `confirm` records lines a controller has (log positions). */
  start(buffer: LogBuffer, confirm: (lines: LogLine[]) => void): void;
  /** Lines wait in the buffer. */
  linesWaiting(): void;
  stop(): void;
}
