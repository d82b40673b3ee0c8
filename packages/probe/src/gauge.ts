import type { MetricOptions } from './counter';
import type { ProbeMetric } from './message';

export interface GaugeOptions extends MetricOptions {
  /** Read at each report instead of a set value (queue length, open connections). */
  collect?: () => number;
}

/** A value that goes up and down: queue length, cache size, connections. */
export class Gauge {
  readonly kind = 'gauge';
  readonly help: string;
  private current = 0;
  private readonly collect?: () => number;

  constructor(
    readonly name: string,
    opts: GaugeOptions = {},
  ) {
    this.help = opts.help ?? '';
    this.collect = opts.collect;
  }

  set(v: number): void {
    if (Number.isFinite(v)) this.current = v;
  }

  inc(n = 1): void {
    if (Number.isFinite(n)) this.current += n;
  }

  dec(n = 1): void {
    if (Number.isFinite(n)) this.current -= n;
  }

  /** The set value, or what `collect` returns now (0 if it throws or returns no number). */
  get value(): number {
    if (!this.collect) return this.current;
    try {
      const v = this.collect();
      return typeof v === 'number' && Number.isFinite(v) ? v : 0;
    } catch {
      return 0; // a failing collector must not break the app's reporting
    }
  }

  snapshot(): ProbeMetric {
    return { name: this.name, kind: 'gauge', value: this.value, help: this.help };
  }
}
