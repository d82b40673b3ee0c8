'use strict';
// The plain node:cluster baseline: a primary that forks WORKERS workers of APP
// (default: test/fixtures/app.js) and re-forks one as soon as it exits. The
// workers share the primary's env (PORT, CPU_WORK, …). SIGTERM/SIGINT: stop all.
// SETSID_WORKERS=1 (a diagnostic for throughput): each worker is started through
// setsid, in a session of its own, the way Fleet's runner starts instances.
const cluster = require('node:cluster');
const fs = require('node:fs');
const path = require('node:path');

const app = process.env.APP || path.join(__dirname, '..', '..', 'test', 'fixtures', 'app.js');
const workers = Number(process.env.WORKERS || 2);
const setsid = process.env.SETSID_WORKERS === '1' && ['/usr/bin/setsid', '/bin/setsid'].find((p) => fs.existsSync(p));
const realNode = process.execPath;
let stopping = false;

cluster.setupPrimary({ exec: app, execArgv: setsid ? [realNode] : [] });
const forkInstance = (i) => {
  if (setsid) process.execPath = setsid; // setsid execs node in place: the IPC channel stays
  try {
    const w = cluster.fork({ NODE_APP_INSTANCE: String(i) });
    w.instance = i;
  } finally {
    process.execPath = realNode;
  }
};
cluster.on('exit', (w) => {
  if (!stopping) forkInstance(w.instance);
});
for (let i = 0; i < workers; i++) forkInstance(i);

const stop = () => {
  stopping = true;
  for (const w of Object.values(cluster.workers)) w.process.kill('SIGKILL');
  setTimeout(() => process.exit(0), 50);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
