// The metrics of one process, by name. Asking twice for the same name gives
// the same metric (so `counter('jobs').inc()` can sit anywhere); asking for it
// as another kind is a programming error and throws.
import { Counter, type MetricOptions } from './counter';
import { Gauge, type GaugeOptions } from './gauge';
import { Histogram, type HistogramOptions } from './histogram';
import type { ProbeMetric } from './message';
import { Meter, type MeterOptions } from './meter';

export type Metric = Counter | Gauge | Meter | Histogram;

export interface RegistryOptions {
  /** The clock meters read. @default Date.now */
  now?: () => number;
  /** Called once, when the first metric is made (the default registry starts reporting then). */
  onFirstMetric?: () => void;
}

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  private readonly now: () => number;

  constructor(private readonly opts: RegistryOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  counter(name: string, opts: MetricOptions = {}): Counter {
    return this.getOrMake(name, 'counter', () => new Counter(name, opts.help));
  }

  gauge(name: string, opts: GaugeOptions = {}): Gauge {
    return this.getOrMake(name, 'gauge', () => new Gauge(name, opts));
  }

  meter(name: string, opts: MeterOptions = {}): Meter {
    return this.getOrMake(name, 'meter', () => new Meter(name, opts, this.now));
  }

  histogram(name: string, opts: HistogramOptions = {}): Histogram {
    return this.getOrMake(name, 'histogram', () => new Histogram(name, opts));
  }

  /** Every metric with its value now, in the order they were made. */
  snapshot(): ProbeMetric[] {
    return [...this.metrics.values()].map((m) => m.snapshot());
  }

  get size(): number {
    return this.metrics.size;
  }

  private getOrMake<M extends Metric>(name: string, kind: M['kind'], make: () => M): M {
    if (typeof name !== 'string' || name === '') throw new TypeError('a metric needs a name');
    const existing = this.metrics.get(name);
    if (existing) {
      if (existing.kind !== kind) throw new TypeError(`metric ${name} is already a ${existing.kind}, not a ${kind}`);
      return existing as M;
    }
    const metric = make();
    this.metrics.set(name, metric);
    if (this.metrics.size === 1) this.opts.onFirstMetric?.();
    return metric;
  }
}
