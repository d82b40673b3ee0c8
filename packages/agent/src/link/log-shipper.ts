// Follows every app's log files and queues the new lines for the controller.
// The files stay the source of truth; this only reads them, so apps and the
// runner never wait on the network.
import * as fs from 'node:fs';
import { type AppInfo, LogStream, type LogLine, type LogsRequest } from '@fleet/protocol';
import type { FilePosition } from '../logs/log-follower';
import type { LineMark, LogStreamRequest } from '../daemon/log-stream';
import { LogBuffer } from './log-buffer';
import type { ShippedPositions } from './shipped-positions';

interface Follower {
  key: string;
  close(): void;
}

export type FollowFn = (
  req: LogsRequest,
  emit: (line: LogLine, mark?: LineMark) => void,
  resume?: LogStreamRequest['resume'],
) => Promise<{ close(): void }>;

export class LogShipper {
  readonly buffer: LogBuffer;
  private readonly followers = new Map<string, Follower>();
  private stopped = false;
  /** Files born after this were never shipped by anyone: they are read from their first line. */
  private readonly startedMs = Date.now();

  constructor(
    private readonly follow: FollowFn,
    capacity: number,
    private readonly onLine: () => void,
    private readonly log: (msg: string) => void,
    private readonly positions?: ShippedPositions,
  ) {
    this.buffer = new LogBuffer(capacity);
  }

  /** Follows the files of the apps as they are now: new apps, scaled apps, changed log settings. */
  sync(apps: AppInfo[]): void {
    if (this.stopped) return;
    const seen = new Set<string>();
    for (const app of apps) {
      const spec = app.spec;
      if (!spec) continue;
      seen.add(spec.name);
      // Which files exist depends on the instance count (per-instance files) and the log settings.
      const key = `${spec.instances}\0${JSON.stringify(spec.log ?? {})}\0${spec.execMode}`;
      const current = this.followers.get(spec.name);
      if (current?.key === key) continue;
      current?.close();
      const follower: Follower = { key, close: () => undefined };
      this.followers.set(spec.name, follower);
      const req: LogsRequest = { target: spec.name, lines: 0, follow: true, stream: LogStream.LOG_STREAM_UNSPECIFIED, grep: '' };
      const positions = this.positions;
      this.follow(
        req,
        (line, mark) => {
          if (mark) positions?.mark(line, mark);
          this.buffer.push(line);
          this.onLine();
        },
        (path) => positions?.resumeFor(path) ?? this.fromStartIfNew(path),
      ).then(
        (handle) => {
          if (this.followers.get(spec.name) === follower && !this.stopped) follower.close = () => handle.close();
          else handle.close();
        },
        (err: Error) => this.log(`cannot follow the logs of ${spec.name}: ${err.message}`),
      );
    }
    for (const [name, f] of this.followers) {
      if (!seen.has(name)) {
        f.close();
        this.followers.delete(name);
      }
    }
  }

  /**
   * A log file created while this agent runs (a new app, a new instance) is
   * shipped from its first line: following it from its end would lose what
   * the app printed before its start command returned ("listening on :3000").
   * A file older than the agent was shipped before, or never will be: its end.
   */
  private fromStartIfNew(path: string): FilePosition | undefined {
    try {
      const st = fs.statSync(path);
      return st.birthtimeMs > 0 && st.birthtimeMs >= this.startedMs ? { ino: st.ino, pos: 0 } : undefined;
    } catch {
      return undefined;
    }
  }

  stop(): void {
    this.stopped = true;
    for (const f of this.followers.values()) f.close();
    this.followers.clear();
  }
}
