'use strict';
// Preloaded into every Node instance (`--require`, beside drain-shim.js) so the
// runner knows each instance's event-loop lag and heap without the app's code
// changing. Every report interval (FLEET_PROBE_INTERVAL_MS, default 5 s — the
// same knob as @fleet/probe) it sends the runner
//   {fleet: 'vitals', lagMs, heapUsed, heapTotal}
// lagMs: p99 of the event-loop delay over the interval, in ms (the histogram is
// reset each time). monitorEventLoopDelay samples with a timer of RESOLUTION_MS
// and records when it fired, so each sample is the resolution plus the delay;
// the resolution is taken off. heapUsed/heapTotal: process.memoryUsage(), bytes.
//
// Only in a direct child of the runner (FLEET_RUNNER_PID is its parent): a
// process the app forks itself (its own cluster workers, child_process.fork)
// inherits the preload and the env, but its IPC channel leads to the app, which
// must never get messages it did not ask for. Sends nothing on a closed channel,
// never throws into the app, and its timer is unref'd (it keeps no process alive).
// Sending does not touch the app's own use of IPC: messages from the runner are
// not read here, and the runner tells these apart by their `fleet` key.
// The sampling timer wakes every instance this often: at 20 ms it was most of
// what Fleet cost an idle app (bench/metrics-cost.js), so at most 100 ms, and a
// tenth of the report interval when that is shorter (tests), for enough samples.
const MAX_RESOLUTION_MS = 100;

if (
  process.send &&
  !global.__fleetVitalsShim &&
  process.env.FLEET_RUNNER_PID &&
  process.env.FLEET_RUNNER_PID === String(process.ppid)
) {
  global.__fleetVitalsShim = true;
  const { monitorEventLoopDelay } = require('node:perf_hooks');
  const configured = Number(process.env.FLEET_PROBE_INTERVAL_MS);
  const intervalMs = Number.isFinite(configured) && configured >= 10 ? configured : 5000;
  const RESOLUTION_MS = Math.max(10, Math.min(MAX_RESOLUTION_MS, Math.floor(intervalMs / 10)));
  const delay = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  delay.enable();
  const report = () => {
    if (!process.connected) return;
    try {
      const lagMs = delay.count > 0 ? Math.max(0, delay.percentile(99) / 1e6 - RESOLUTION_MS) : 0;
      delay.reset();
      const mem = process.memoryUsage();
      process.send({ fleet: 'vitals', lagMs, heapUsed: mem.heapUsed, heapTotal: mem.heapTotal }, undefined, undefined, () => {});
    } catch {
      // the channel is closing: nothing to tell
    }
  };
  setInterval(report, intervalMs).unref();
}
