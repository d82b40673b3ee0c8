'use strict';
// The plain node:cluster baseline: a primary that forks WORKERS workers of APP
// (default: test/fixtures/app.js) and re-forks one as soon as it exits. The
// workers share the primary's env (PORT, CPU_WORK, …). SIGTERM/SIGINT: stop all.
const cluster = require('node:cluster');
const path = require('node:path');

const app = process.env.APP || path.join(__dirname, '..', '..', 'test', 'fixtures', 'app.js');
const workers = Number(process.env.WORKERS || 2);
let stopping = false;

cluster.setupPrimary({ exec: app });
const forkInstance = (i) => {
  const w = cluster.fork({ NODE_APP_INSTANCE: String(i) });
  w.instance = i;
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
