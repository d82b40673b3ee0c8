// What the probe sends to the Fleet runner over the instance's IPC channel,
// every report interval:
//
//   { fleet: 'metrics', metrics: ProbeMetric[] }
//
// Plain JSON (process.send serializes it), shaped close to fleet.v1.AppMetric
// so the runner only has to check it. Each message carries every metric of the
// process with its value now (not a delta): a lost or repeated message changes
// nothing, and the runner keeps only the last one per instance.

export type ProbeMetricKind = 'counter' | 'gauge' | 'meter' | 'histogram';

export interface ProbeMetric {
  name: string;
  kind: ProbeMetricKind;
  /**
   * counter: the total; gauge: the value; meter: events per second over its
   * window; histogram: the mean of all observations (0 before the first).
   */
  value: number;
  /** meter: events in all; histogram: observations in all; otherwise absent. */
  count?: number;
  /** histogram: upper bounds, ascending (+Inf implied after the last). */
  bounds?: number[];
  /** histogram: observations per bucket, not cumulative; bounds.length + 1 entries (the last is +Inf). */
  buckets?: number[];
  /** histogram: the sum of all observations. */
  sum?: number;
  help?: string;
}

export interface MetricsMessage {
  fleet: 'metrics';
  metrics: ProbeMetric[];
}
