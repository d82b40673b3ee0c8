#!/usr/bin/env node
'use strict';
// Waits until something accepts TCP connections on a `--listen` address, so a
// unit (ExecStartPost=) or a container (HEALTHCHECK) is "started" only once
// the controller serves. Plain Node, no dependencies: it runs from the
// checkout the controller runs from.
//
//   node wait-listen.js <host:port> [seconds]     (default 60; 0 = one attempt)
//
// A wildcard host (0.0.0.0, [::], empty) is checked on loopback. Exit 0 when
// a connection is accepted, 1 when the time is up, 2 on bad usage.
const net = require('node:net');

function target(listen) {
  const m = /^(?:\[([0-9a-fA-F:.]*)\]|([^\s:[\]]*)):(\d{1,5})$/.exec(listen || '');
  if (!m || Number(m[3]) < 1 || Number(m[3]) > 65535) return undefined;
  let host = m[1] !== undefined ? m[1] : m[2];
  if (host === '' || host === '0.0.0.0') host = '127.0.0.1';
  else if (host === '::') host = '::1';
  return { host, port: Number(m[3]) };
}

function attempt(t, ms) {
  return new Promise((resolve) => {
    const socket = net.connect({ host: t.host, port: t.port });
    const done = (ok) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(ms, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

async function main() {
  const [listen, secondsArg] = process.argv.slice(2);
  const t = target(listen);
  const seconds = secondsArg === undefined ? 60 : Number(secondsArg);
  if (!t || !Number.isFinite(seconds) || seconds < 0) {
    process.stderr.write('usage: wait-listen.js <host:port> [seconds]   e.g. wait-listen.js 0.0.0.0:7070 60\n');
    return 2;
  }
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    if (await attempt(t, 1000)) return 0;
    if (Date.now() >= deadline) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  process.stderr.write(`wait-listen: nothing accepts connections on ${t.host}:${t.port} (from ${listen}) after ${seconds}s\n`);
  return 1;
}

main().then((code) => process.exit(code));
