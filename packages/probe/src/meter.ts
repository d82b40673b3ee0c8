// A meter counts events and tells their rate: requests per second.
//
// The rate is a sliding window, not an exponential average: the events of the
// last `windowSeconds` (default 60), kept in one slot per second, divided by
// the time that window covers. The window ends now, so it covers the
// `windowSeconds - 1` whole seconds before this one plus the part of this one
// already gone; a meter younger than that divides by its age instead, and
// never by less than one second (ten events in the first millisecond are
// 10/s, not 10 000/s). When events stop, the rate falls to 0 after one window.
//
// Exact and easy to check by hand, which an average is not; costs one number
// per second of window.
import type { MetricOptions } from './counter';
import type { ProbeMetric } from './message';

export interface MeterOptions extends MetricOptions {
  /** Length of the rate's window. @default 60 */
  windowSeconds?: number;
}

export const DEFAULT_METER_WINDOW_SECONDS = 60;

export class Meter {
  readonly kind = 'meter';
  readonly help: string;
  readonly windowSeconds: number;
  private readonly slots: number[];
  /** The second (epoch seconds of `now`) the newest slot counts. */
  private head: number;
  private total = 0;
  private readonly createdMs: number;

  constructor(
    readonly name: string,
    opts: MeterOptions = {},
    private readonly now: () => number = Date.now,
  ) {
    this.help = opts.help ?? '';
    const w = Math.floor(opts.windowSeconds ?? DEFAULT_METER_WINDOW_SECONDS);
    if (!(w >= 1)) throw new RangeError(`meter ${name}: windowSeconds must be at least 1`);
    this.windowSeconds = w;
    this.slots = new Array<number>(w).fill(0);
    this.createdMs = this.now();
    this.head = Math.floor(this.createdMs / 1000);
  }

  /** Records `n` events (default 1). A negative or non-finite `n` is ignored. */
  mark(n = 1): void {
    if (!Number.isFinite(n) || n <= 0) return;
    this.advance(Math.floor(this.now() / 1000));
    this.slots[this.slot(this.head)] += n;
    this.total += n;
  }

  /** Events in all since the process started. */
  get count(): number {
    return this.total;
  }

  /** Events per second over the window (see the top of this file). */
  get rate(): number {
    const nowMs = this.now();
    this.advance(Math.floor(nowMs / 1000));
    let events = 0;
    for (const n of this.slots) events += n;
    const windowStartMs = (this.head - this.windowSeconds + 1) * 1000;
    const spanMs = nowMs - Math.max(windowStartMs, this.createdMs);
    return events / (Math.max(spanMs, 1000) / 1000);
  }

  snapshot(): ProbeMetric {
    return { name: this.name, kind: 'meter', value: this.rate, count: this.total, help: this.help };
  }

  /** Moves the window to end at second `sec`, clearing the seconds it passes. */
  private advance(sec: number): void {
    // A clock that went back counts into the newest slot rather than an old one.
    if (sec <= this.head) return;
    const steps = Math.min(sec - this.head, this.windowSeconds);
    for (let i = 1; i <= steps; i++) this.slots[this.slot(sec - steps + i)] = 0;
    this.head = sec;
  }

  private slot(sec: number): number {
    return ((sec % this.windowSeconds) + this.windowSeconds) % this.windowSeconds;
  }
}
