// A histogram counts observations (durations, sizes) in buckets, Prometheus
// style: an observation goes into the first bucket whose upper bound is >= it,
// or into the last, unbounded one. Counts are per bucket, not cumulative.
import type { MetricOptions } from './counter';
import type { ProbeMetric } from './message';

export interface HistogramOptions extends MetricOptions {
  /**
   * Upper bounds of the buckets, ascending (+Inf is implied after the last).
   * Instances of an app merge only when their bounds are the same: give every
   * instance the same list.
   * @default DEFAULT_BUCKETS (durations in milliseconds, 1 ms to 10 s)
   */
  buckets?: readonly number[];
}

/** Suits durations in milliseconds, the unit Node apps time in: 1 ms to 10 s. */
export const DEFAULT_BUCKETS: readonly number[] = Object.freeze([1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000]);

/** At most this many bounds: the runner refuses longer lists. */
export const MAX_BUCKETS = 64;

export class Histogram {
  readonly kind = 'histogram';
  readonly help: string;
  readonly bounds: readonly number[];
  private readonly counts: number[];
  private total = 0;
  private sum = 0;

  constructor(
    readonly name: string,
    opts: HistogramOptions = {},
  ) {
    this.help = opts.help ?? '';
    this.bounds = Object.freeze(checkBounds(name, opts.buckets ?? DEFAULT_BUCKETS));
    this.counts = new Array<number>(this.bounds.length + 1).fill(0);
  }

  /** Records one observation. A non-finite value (NaN, Infinity) is ignored. */
  observe(v: number): void {
    if (!Number.isFinite(v)) return;
    let i = 0;
    while (i < this.bounds.length && v > this.bounds[i]) i++;
    this.counts[i]++;
    this.total++;
    this.sum += v;
  }

  /** Observations in all. */
  get count(): number {
    return this.total;
  }

  snapshot(): ProbeMetric {
    return {
      name: this.name,
      kind: 'histogram',
      value: this.total > 0 ? this.sum / this.total : 0,
      count: this.total,
      bounds: [...this.bounds],
      buckets: [...this.counts],
      sum: this.sum,
      help: this.help,
    };
  }
}

function checkBounds(name: string, bounds: readonly number[]): number[] {
  if (!Array.isArray(bounds) || bounds.length === 0 || bounds.length > MAX_BUCKETS) {
    throw new RangeError(`histogram ${name}: buckets must be a list of 1 to ${MAX_BUCKETS} upper bounds`);
  }
  for (let i = 0; i < bounds.length; i++) {
    if (typeof bounds[i] !== 'number' || !Number.isFinite(bounds[i]) || (i > 0 && bounds[i] <= bounds[i - 1])) {
      throw new RangeError(`histogram ${name}: buckets must be finite numbers in ascending order (got ${JSON.stringify(bounds)})`);
    }
  }
  return [...bounds];
}
