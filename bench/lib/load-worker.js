'use strict';
// Continuous keep-alive HTTP load, in its own process so the bench's own work
// (spawning CLIs) never slows it. argv: port concurrency. Each client loops:
// a request on a keep-alive http.Agent; on error, count it and retry after 1 ms.
// IPC: {cmd:'stop'} -> replies {ok, failed, errors} and exits.
const http = require('node:http');

const port = Number(process.argv[2]);
const concurrency = Number(process.argv[3] || 16);
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const result = { ok: 0, failed: 0, errors: {} };
let stopped = false;
let running = 0;

function fail(key) {
  result.failed++;
  result.errors[key] = (result.errors[key] || 0) + 1;
}

function loop() {
  if (stopped) return;
  running++;
  let settled = false;
  const done = (ok, key) => {
    if (settled) return;
    settled = true;
    running--;
    if (ok) result.ok++;
    else fail(key);
    if (ok) setImmediate(loop);
    else setTimeout(loop, 1);
  };
  const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
    res.resume();
    res.on('end', () => (res.statusCode === 200 ? done(true) : done(false, `HTTP ${res.statusCode}`)));
    res.on('error', (err) => done(false, err.code || err.message));
  });
  req.on('error', (err) => done(false, err.code || err.message));
  req.setTimeout(10_000, () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
}

process.on('message', (msg) => {
  if (msg && msg.cmd === 'stop') {
    stopped = true;
    const t0 = Date.now();
    const finish = () => {
      if (running > 0 && Date.now() - t0 < 15_000) return setTimeout(finish, 5);
      agent.destroy();
      process.send({ ...result, unfinished: running }, () => process.exit(0));
    };
    finish();
  } else if (msg && msg.cmd === 'snapshot') {
    process.send({ snapshot: true, ...result });
  }
});
process.on('disconnect', () => process.exit(0));

for (let i = 0; i < concurrency; i++) loop();
process.send({ started: true });
