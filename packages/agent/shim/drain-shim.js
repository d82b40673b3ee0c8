'use strict';
// Preloaded into every Node instance (`--require`) so a reload drains it
// without the app's code changing. A Node server's own close() drops idle
// keep-alive sockets, and a client that has just sent a request on one gets
// ECONNRESET. On {fleet: 'drain'} from the runner this shim instead:
//   1. stops accepting connections (server.close(), minus its closeIdleConnections),
//   2. answers every further request with `Connection: close`, so each busy
//      socket closes cleanly right after its response,
//   3. closes sockets that stay idle for FLEET_DRAIN_IDLE_MS (a client that has
//      been silent that long is not mid-send), then reports {fleet: 'drained'}.
// Normal operation costs nothing per request and a Set entry per connection.
//
// It loads nothing the app does not: servers are found through net.Server's
// listen (net is loaded in any process with an IPC channel), and http / https
// are looked at only if the app loaded them (no server of theirs can exist
// otherwise). Requiring them up front loaded tls and crypto into every
// instance: ~0.45 MB of private memory each.

/** Whether a builtin module has been loaded, without loading it (true when that cannot be told). */
function loaded(name) {
  const list = process.moduleLoadList;
  if (!Array.isArray(list) || !list.includes('NativeModule net')) return true;
  return list.includes(`NativeModule ${name}`);
}

/** An http.Server or an https.Server (or a subclass of either): what this shim drains. */
function isHttpServer(server) {
  if (loaded('http') && server instanceof require('node:http').Server) return true;
  return loaded('https') && server instanceof require('node:https').Server;
}

if (process.send && !global.__fleetDrainShim) {
  global.__fleetDrainShim = true;
  const idleGraceMs = Number(process.env.FLEET_DRAIN_IDLE_MS || 500);
  const servers = new Set();
  const sockets = new Set();
  let draining = false;

  const track = (server) => {
    if (servers.has(server)) return;
    servers.add(server);
    server.on('connection', (socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
    });
  };

  // Servers are found when they listen (once per server), so a request in
  // normal operation costs nothing; the `Connection: close` hook is added only
  // when draining starts. Other servers (net, tls, http2) are left alone.
  const { Server } = require('node:net');
  const listen = Server.prototype.listen;
  Server.prototype.listen = function fleetListen() {
    if (isHttpServer(this)) track(this);
    return listen.apply(this, arguments);
  };

  const closeAfterResponse = (req, res) => {
    res.shouldKeepAlive = false; // same effect as `Connection: close`
  };

  const drain = () => {
    if (draining) return;
    draining = true;
    const idleSince = new Map();
    for (const server of servers) {
      server.prependListener('request', closeAfterResponse);
      // Keep idle sockets through close(): this shim closes them when safe.
      server.closeIdleConnections = () => {};
      if (server.listening) server.close(() => {});
    }
    const tick = () => {
      const now = Date.now();
      for (const socket of sockets) {
        const busy = socket._httpMessage != null; // a response in flight on it
        if (busy || socket.destroyed) {
          idleSince.delete(socket);
          continue;
        }
        const since = idleSince.get(socket);
        if (since === undefined) idleSince.set(socket, now);
        else if (now - since >= idleGraceMs) socket.end();
      }
      if (sockets.size === 0) {
        clearInterval(timer);
        try {
          process.send({ fleet: 'drained' });
        } catch {
          // the runner is gone; nothing to tell
        }
      }
    };
    const timer = setInterval(tick, 25);
    timer.unref();
    tick();
  };

  process.on('message', (msg) => {
    if (msg && msg.fleet === 'drain') drain();
  });
}
