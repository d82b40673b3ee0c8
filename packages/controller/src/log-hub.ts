// Log fan-in: lines arrive from hosts (over agent links, or taken from NATS by
// this controller's share of the queue group) and leave to `fleet logs -f`
// subscribers. The hub keeps a bounded recent window per host and app, so a
// follow starts with context and a disconnected host's last lines can still be
// shown. With NATS, `fleet logs` reads a NatsLogFeed (nats/nats-log-feed.ts)
// built around this hub instead of the hub itself.
import { type LogLine, LogStream } from '@fleet/protocol';
import type { LRUCache } from 'lru-cache';

/** Where received lines go. */
export interface LogSink {
  /** Kept in the windows and passed to this process's followers. */
  publish(lines: LogLine[]): void;
}

export interface LogFilter {
  /** Undefined: every host. */
  hosts?: ReadonlySet<string>;
  /** Undefined: every app. */
  apps?: ReadonlySet<string>;
  stream: LogStream;
  grep?: string;
}

/** What `fleet logs` reads. */
export interface LogFeed {
  /** The last `n` lines of each matching host/app window, oldest first. */
  tail(filter: LogFilter, n: number): Promise<LogLine[]>;
  /**
   * The last `n` matching lines, then every new one, as one step: no line
   * twice, none missed. Resolves once following; call the result to stop.
   */
  follow(filter: LogFilter, n: number, onLine: (line: LogLine) => void): Promise<() => void>;
  /**
   * Lines of hosts linked to other controllers reach this feed too (NATS):
   * following every host follows those, though this controller's registry does not list them.
   */
  readonly clusterWide: boolean;
}

export function matchesLog(filter: LogFilter, line: LogLine): boolean {
  if (filter.hosts && !filter.hosts.has(line.host)) return false;
  // A drop notice concerns every app of its host and every stream: lines are missing.
  if (filter.apps && line.dropped === 0 && !filter.apps.has(line.app)) return false;
  if (line.dropped === 0 && filter.stream !== LogStream.LOG_STREAM_UNSPECIFIED && line.stream !== filter.stream) return false;
  if (filter.grep && line.dropped === 0 && !line.line.includes(filter.grep)) return false;
  return true;
}

/** Fixed-size ring of the newest lines. */
class Window {
  private readonly lines: LogLine[] = [];
  private start = 0;
  constructor(private readonly size: number) {}
  push(line: LogLine): void {
    if (this.lines.length < this.size) this.lines.push(line);
    else {
      this.lines[this.start] = line;
      this.start = (this.start + 1) % this.size;
    }
  }
  all(): LogLine[] {
    return [...this.lines.slice(this.start), ...this.lines.slice(0, this.start)];
  }
}

export interface LogHubOptions {
  /** Lines kept per host and app. */
  windowLines?: number;
  /** Host/app windows kept; the least recently written go first. */
  maxWindows?: number;
}

export class LogHub implements LogSink, LogFeed {
  /** Made with the first line: the local daemon's hub never gets one, and an LRU of 10,000 preallocates ~0.2 MB. */
  private windows?: LRUCache<string, Window>;
  private readonly subscribers = new Set<{ filter: LogFilter; onLine: (line: LogLine) => void }>();
  private readonly windowLines: number;
  private readonly maxWindows: number;

  constructor(opts: LogHubOptions = {}) {
    this.windowLines = opts.windowLines ?? 1000;
    this.maxWindows = opts.maxWindows ?? 10_000;
  }

  readonly clusterWide = false;

  publish(lines: LogLine[]): void {
    for (const line of lines) {
      this.keepLine(line);
      for (const s of this.subscribers) if (matchesLog(s.filter, line)) s.onLine(line);
    }
  }

  /** Into the windows only: lines whose followers are served elsewhere (NATS subscriptions). */
  keep(lines: LogLine[]): void {
    for (const line of lines) this.keepLine(line);
  }

  private keepLine(line: LogLine): void {
    // Required here, not imported: lru-cache is loaded only by a hub that gets lines.
    this.windows ??= new (require('lru-cache') as typeof import('lru-cache')).LRUCache<string, Window>({ max: this.maxWindows });
    const key = `${line.host}\0${line.app}`;
    let w = this.windows.get(key);
    if (!w) {
      w = new Window(this.windowLines);
      this.windows.set(key, w);
    }
    w.push(line);
  }

  subscribe(filter: LogFilter, onLine: (line: LogLine) => void): () => void {
    const sub = { filter, onLine };
    this.subscribers.add(sub);
    return () => this.subscribers.delete(sub);
  }

  tail(filter: LogFilter, n: number): Promise<LogLine[]> {
    return Promise.resolve(this.recent(filter, n));
  }

  follow(filter: LogFilter, n: number, onLine: (line: LogLine) => void): Promise<() => void> {
    // Synchronous: no line can arrive between the backlog and the subscription.
    for (const line of this.recent(filter, n)) onLine(line);
    return Promise.resolve(this.subscribe(filter, onLine));
  }

  /** The last `n` lines of each matching host/app window, oldest first. */
  recent(filter: LogFilter, n: number): LogLine[] {
    if (n <= 0 || !this.windows) return [];
    const out: LogLine[] = [];
    for (const [key, w] of this.windows.entries()) {
      const [host, app] = key.split('\0');
      if (filter.hosts && !filter.hosts.has(host)) continue;
      if (filter.apps && app !== '' && !filter.apps.has(app)) continue;
      out.push(...w.all().filter((l) => matchesLog(filter, l)).slice(-n));
    }
    return mergeByTime(out);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }
}

/** Stable merge by the agents' timestamps: lines of one host keep their order. */
export function mergeByTime(lines: LogLine[]): LogLine[] {
  return lines
    .map((line, i) => ({ line, i }))
    .sort((a, b) => a.line.timeMs - b.line.timeMs || a.i - b.i)
    .map((x) => x.line);
}
