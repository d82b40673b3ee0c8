// Paces state pushes caused by readings alone (an instance's vitals or app
// metrics). Each instance reports every few seconds; fifty of them must not
// mean ten pushes a second to the agent. A push for any other change (a status,
// a reload) goes at once and carries the latest readings: it counts as the
// readings' push too, and cancels the one that was waiting.
export interface ThrottleClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): NodeJS.Timeout;
  clearTimeout(t: NodeJS.Timeout | undefined): void;
}

/** At most one readings-only push per this many ms. */
export const READINGS_PUSH_MIN_MS = 1000;

export class ReadingsThrottle {
  private lastPushMs = Number.NEGATIVE_INFINITY;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly clock: ThrottleClock,
    private readonly push: () => void,
    private readonly minMs = READINGS_PUSH_MIN_MS,
  ) {}

  /** A push went out (whatever caused it): it carried the latest readings. */
  pushed(): void {
    this.cancel();
    this.lastPushMs = this.clock.now();
  }

  /** Readings changed: push them minMs after the previous push at the earliest. */
  readingsChanged(): void {
    if (this.timer) return; // a push is already due; it will read the latest
    const waitMs = Math.max(0, this.lastPushMs + this.minMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.push();
    }, waitMs);
  }

  cancel(): void {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
