import type { ProbeMetric } from './message';

export interface MetricOptions {
  /** One line saying what the metric counts; shown by `fleet describe` and exported as HELP. */
  help?: string;
}

/** Only goes up: requests served, jobs done. Starts at 0 with each process. */
export class Counter {
  readonly kind = 'counter';
  private total = 0;

  constructor(
    readonly name: string,
    readonly help = '',
  ) {}

  /** Adds `n` (default 1). A negative or non-finite `n` is ignored: a counter never goes down. */
  inc(n = 1): void {
    if (Number.isFinite(n) && n > 0) this.total += n;
  }

  get value(): number {
    return this.total;
  }

  snapshot(): ProbeMetric {
    return { name: this.name, kind: 'counter', value: this.total, help: this.help };
  }
}
