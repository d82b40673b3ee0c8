// Log lines on their way to the controller. Bounded: while the controller is
// away the oldest lines go first and are counted, and the count travels with
// the next batch, so a gap is always reported, never silent.
import type { LogLine } from '@fleet/protocol';

export class LogBuffer {
  private lines: LogLine[] = [];
  private head = 0;
  private droppedCount = 0;

  constructor(readonly capacity: number) {}

  push(line: LogLine): void {
    this.lines.push(line);
    if (this.size > this.capacity) {
      this.head++;
      this.droppedCount++;
      this.compact();
    }
  }

  /** Frees taken and dropped lines now and then, rather than shift() per line. */
  private compact(): void {
    if (this.head > 4096 && this.head > this.lines.length / 2) {
      this.lines = this.lines.slice(this.head);
      this.head = 0;
    }
  }

  get size(): number {
    return this.lines.length - this.head;
  }

  /** Takes up to `max` lines and the drop count accumulated so far. */
  take(max: number): { lines: LogLine[]; dropped: number } {
    const lines = this.lines.slice(this.head, this.head + max);
    this.head += lines.length;
    if (this.head === this.lines.length) {
      this.lines = [];
      this.head = 0;
    } else {
      // Drained in batches but never empty (the link pushing back): still bounded.
      this.compact();
    }
    const dropped = this.droppedCount;
    this.droppedCount = 0;
    return { lines, dropped };
  }
}
