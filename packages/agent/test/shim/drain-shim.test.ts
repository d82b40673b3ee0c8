import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { fork, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';

// The drain shim preloaded into a process with an IPC channel, as the runner
// preloads it into every Node instance: which servers it drains on
// {fleet: 'drain'}, and that it loads no module the app did not.

const SHIM = path.resolve(__dirname, '../../../shim/drain-shim.js');

// kind: http | https | net. Listens on a free port, then reports it and the
// builtins among http, https, tls and crypto that are loaded.
const APP = `
const kind = process.argv[2];
const server =
  kind === 'http' ? require('node:http').createServer((req, res) => res.end('ok')) :
  kind === 'https' ? require('node:https').createServer({}) :
  require('node:net').createServer(() => {});
server.listen(0, '127.0.0.1', () => {
  const loaded = ['http', 'https', 'tls', 'crypto'].filter((m) => process.moduleLoadList.includes('NativeModule ' + m));
  process.send({ port: server.address().port, loaded });
});
`;

interface Started {
  child: ChildProcess;
  port: number;
  loaded: string[];
}

async function start(kind: 'http' | 'https' | 'net'): Promise<Started> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'fleet-drain-shim-'));
  const app = path.join(dir, 'app.js');
  fs.writeFileSync(app, APP);
  const child = fork(app, [kind], {
    execArgv: ['--require', SHIM],
    env: { ...process.env, FLEET_DRAIN_IDLE_MS: '100' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  child.once('exit', () => fs.rmSync(dir, { recursive: true, force: true }));
  const first = await new Promise<{ port: number; loaded: string[] }>((resolve, reject) => {
    child.once('message', (m) => resolve(m as { port: number; loaded: string[] }));
    child.once('exit', (code) => reject(new Error(`app exited ${code}`)));
  });
  return { child, ...first };
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGKILL');
  });
}

/** Sends {fleet: 'drain'}; resolves after {fleet: 'drained'}, with the time it took. */
function drain(child: ChildProcess): Promise<number> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    child.on('message', (m) => {
      if ((m as { fleet?: string }).fleet === 'drained') resolve(Date.now() - t0);
    });
    child.send({ fleet: 'drain' });
  });
}

/** A TCP connection; `ended` resolves when the server ends or closes it. */
async function connect(port: number): Promise<{ socket: net.Socket; ended: Promise<void> }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.on('error', () => {});
  const ended = new Promise<void>((resolve) => {
    socket.once('end', () => resolve());
    socket.once('close', () => resolve());
  });
  socket.on('data', () => {});
  await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
  return { socket, ended };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('http: an idle keep-alive connection is closed by the drain, which then reports drained', async () => {
  const { child, port, loaded } = await start('http');
  try {
    assert.deepEqual(loaded, ['http'], 'the shim loads neither https nor tls nor crypto into an http app');
    const { socket, ended } = await connect(port);
    socket.write('GET / HTTP/1.1\r\nHost: x\r\nConnection: keep-alive\r\n\r\n');
    await sleep(50);
    const drainedIn = drain(child);
    await ended;
    assert.ok((await drainedIn) >= 100, 'the idle socket was given the idle grace first');
    socket.destroy();
  } finally {
    await stop(child);
  }
});

test('https: its connections are drained as well', async () => {
  const { child, port, loaded } = await start('https');
  try {
    assert.ok(loaded.includes('https'));
    const { socket, ended } = await connect(port); // never says hello: an idle connection
    await sleep(50);
    const drainedIn = drain(child);
    await ended;
    assert.ok((await drainedIn) >= 100);
    socket.destroy();
  } finally {
    await stop(child);
  }
});

test('a plain net server is not drained, and the shim loads no http into its process', async () => {
  const { child, port, loaded } = await start('net');
  try {
    assert.deepEqual(loaded, [], 'nothing of http, https, tls or crypto is loaded');
    const { socket, ended } = await connect(port);
    await sleep(50);
    await drain(child); // nothing to wait for
    const closed = await Promise.race([ended.then(() => true), sleep(400).then(() => false)]);
    assert.equal(closed, false, 'the net connection stays open');
    socket.destroy();
  } finally {
    await stop(child);
  }
});
