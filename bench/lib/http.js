'use strict';
// Loopback HTTP helpers: one request, and "wait until it serves".
const http = require('node:http');

/** GET / on 127.0.0.1:port over a new connection. Rejects on any error or timeout. */
function get(port, { timeoutMs = 5000, agent = false } = {}) {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
  });
}

/** The fixture app answers "<pid> <instance>": the pid of the instance that served. */
async function servingPid(port, opts) {
  const r = await get(port, opts);
  if (r.status !== 200) throw new Error(`HTTP ${r.status}`);
  return Number(r.body.split(' ')[0]);
}

/** Resolves once every port answers 200. */
async function waitServing(ports, { timeoutMs = 20_000 } = {}) {
  const deadline = Date.now() + timeoutMs;
  for (const port of ports) {
    for (;;) {
      try {
        const r = await get(port, { timeoutMs: 2000 });
        if (r.status === 200) break;
      } catch {
        // not yet
      }
      if (Date.now() > deadline) throw new Error(`port ${port} did not serve within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

module.exports = { get, servingPid, waitServing };
