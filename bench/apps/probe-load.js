'use strict';
// An HTTP-less app for bench/metrics-cost.js, steered by env:
//   PROBE unset or 0  does nothing but stay alive (case A)
//   PROBE=1           records its own metrics with @fleet/probe (cases B, C):
//                     5 counters, 2 gauges, 1 meter, 2 histograms, each updated
//                     UPDATES_PER_S times a second (default 100), all in one
//                     timer tick, reported to the runner at the probe's own
//                     interval (FLEET_PROBE_INTERVAL_MS, default 5 s).
// It listens on nothing: run in cluster mode with wait_ready, it says 'ready'
// over IPC instead (a cluster instance that neither listens nor says so is
// killed after listen_timeout).
if (process.env.PROBE === '1') {
  const { counter, gauge, meter, histogram } = require('@fleet/probe');
  const counters = Array.from({ length: 5 }, (_, i) => counter(`bench_events_${i}`, { help: `bench counter ${i}` }));
  const queue = gauge('bench_queue_length');
  const inFlight = gauge('bench_in_flight');
  const rate = meter('bench_requests');
  const latency = histogram('bench_latency_ms');
  const size = histogram('bench_size_bytes', { buckets: [64, 256, 1024, 4096, 16384, 65536] });
  const perSecond = Number(process.env.UPDATES_PER_S) || 100;
  let tick = 0;
  setInterval(() => {
    tick++;
    for (let i = 0; i < counters.length; i++) counters[i].inc(i + 1);
    queue.set(tick % 50);
    inFlight.set((tick * 7) % 13);
    rate.mark();
    latency.observe((tick * 37) % 250);
    size.observe((tick * 997) % 70000);
  }, 1000 / perSecond);
} else {
  setInterval(() => {}, 1 << 30);
}
if (process.send) process.send('ready');
