// @fleet/probe: an app's own metrics under Fleet, PM2-io style.
//
//   const { counter, gauge, meter, histogram } = require('@fleet/probe');
//   const jobs = counter('jobs_done', { help: 'jobs finished' });
//   jobs.inc();
//
// The runner sums each metric across the app's instances (histograms merge
// bucket by bucket); `fleet describe <app>` shows them and the controller
// exports them to Prometheus. Outside Fleet every call still works and nothing
// is sent. No dependencies; the only global is the one registry below.
import type { Counter, MetricOptions } from './counter';
import type { Gauge, GaugeOptions } from './gauge';
import type { Histogram, HistogramOptions } from './histogram';
import type { Meter, MeterOptions } from './meter';
import { Registry } from './registry';
import { reportInterval, runnerChannel, startReporting } from './reporter';

export { Counter, type MetricOptions } from './counter';
export { Gauge, type GaugeOptions } from './gauge';
export { Meter, type MeterOptions, DEFAULT_METER_WINDOW_SECONDS } from './meter';
export { Histogram, type HistogramOptions, DEFAULT_BUCKETS, MAX_BUCKETS } from './histogram';
export { Registry, type RegistryOptions, type Metric } from './registry';
export { DEFAULT_INTERVAL_MS } from './reporter';
export type { MetricsMessage, ProbeMetric, ProbeMetricKind } from './message';

/**
 * The process's one registry, shared through a global symbol: an app that ends
 * up with two copies of this package (two versions in node_modules) still
 * reports one set of metrics, not two that overwrite each other at the runner.
 */
const KEY = Symbol.for('@fleet/probe.registry.v1');
type Holder = { [KEY]?: Registry };

function defaultRegistry(): Registry {
  const g = globalThis as Holder;
  g[KEY] ??= new Registry({
    onFirstMetric: () => {
      const send = runnerChannel();
      if (send) startReporting(g[KEY]!, send, reportInterval());
    },
  });
  return g[KEY];
}

/** The registry `counter()` and the others use. */
export const registry: Registry = defaultRegistry();

/** A count that only goes up (requests, jobs). The same name gives the same counter. */
export function counter(name: string, opts?: MetricOptions): Counter {
  return registry.counter(name, opts);
}

/** A value that goes up and down, set by the app or read by `collect` at each report. */
export function gauge(name: string, opts?: GaugeOptions): Gauge {
  return registry.gauge(name, opts);
}

/** Events and their rate per second over a sliding window (60 s by default). */
export function meter(name: string, opts?: MeterOptions): Meter {
  return registry.meter(name, opts);
}

/** Observations counted in buckets (default: milliseconds, 1 ms to 10 s). */
export function histogram(name: string, opts?: HistogramOptions): Histogram {
  return registry.histogram(name, opts);
}
