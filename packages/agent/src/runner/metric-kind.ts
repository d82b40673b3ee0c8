// MetricKind for the runner without loading generated code (the reason is in
// @fleet/protocol's runner-protocol.ts): the same keys and values as the
// generated string enum, checked by the compiler, usable as it.
// (Could move into runner-protocol.ts next to ExecMode and InstanceStatus.)
import type { AppMetric, MetricKind as GenMetricKind } from '@fleet/protocol';

export type { AppMetric };

const metricKindValues = {
  METRIC_KIND_UNSPECIFIED: 'METRIC_KIND_UNSPECIFIED',
  METRIC_KIND_COUNTER: 'METRIC_KIND_COUNTER',
  METRIC_KIND_GAUGE: 'METRIC_KIND_GAUGE',
  METRIC_KIND_METER: 'METRIC_KIND_METER',
  METRIC_KIND_HISTOGRAM: 'METRIC_KIND_HISTOGRAM',
  UNRECOGNIZED: 'UNRECOGNIZED',
} as const satisfies { [K in keyof typeof GenMetricKind]: `${(typeof GenMetricKind)[K]}` };

export const MetricKind = metricKindValues as unknown as typeof GenMetricKind;
export type MetricKind = GenMetricKind;
