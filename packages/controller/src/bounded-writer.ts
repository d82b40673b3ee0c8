// Writes log lines to one `fleet logs -f` client at the pace it reads. The hub
// cannot wait for one slow reader (every host feeds it), so lines queue here
// up to a bound; beyond it they are dropped and counted, and the reader gets a
// line saying how many, never a silent gap.
import { type LogLine, LogStream } from '@fleet/protocol';

export interface LineStream {
  write(line: LogLine): boolean;
  once(event: 'drain', fn: () => void): unknown;
}

export class BoundedWriter {
  private readonly queue: LogLine[] = [];
  private waiting = false;
  private dropped = 0;

  constructor(
    private readonly out: LineStream,
    private readonly max = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  write(line: LogLine): void {
    if (this.waiting) {
      if (this.queue.length >= this.max) this.dropped++;
      else this.queue.push(line);
      return;
    }
    if (!this.out.write(line)) this.wait();
  }

  private wait(): void {
    this.waiting = true;
    this.out.once('drain', () => {
      this.waiting = false;
      if (this.dropped > 0) {
        const n = this.dropped;
        this.dropped = 0;
        // At the gap: the lost lines came after everything queued.
        this.queue.push({
          app: '',
          instance: 0,
          stream: LogStream.LOG_STREAM_ERR,
          line: `[fleet] ${n} log lines were dropped: this reader fell behind`,
          timeMs: this.now(),
          host: '',
          dropped: n,
        });
      }
      while (this.queue.length > 0 && !this.waiting) this.write(this.queue.shift()!);
    });
  }
}
