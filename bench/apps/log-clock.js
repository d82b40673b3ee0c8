'use strict';
// Prints RATE lines per second (default 10 000) as "<Date.now()> <seq>", seq
// from 0 without gaps: the log-latency bench reads them back through the
// controller and measures receive time − the stamp. Every 2 ms it prints the
// lines due by then (each with its own Date.now()), so bursts stay small.
// stdout is a pipe to the runner: writes are synchronous on Linux, so the
// stamp is the moment the line left the app.
const rate = Number(process.env.RATE || 10_000);
const t0 = performance.now();
let seq = 0;
setInterval(() => {
  const due = Math.floor(((performance.now() - t0) / 1000) * rate);
  while (seq < due) console.log(`${Date.now()} ${seq++}`);
}, 2);
