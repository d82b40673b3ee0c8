// The monit loop against a scripted api and a fake screen: refresh, the log
// stream following the selected app, failures kept on screen, and quitting
// that closes everything. Plus the command's refusals (no terminal, bad flags).
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import { test, type TestContext } from 'node:test';
import type { ClientReadableStream } from '@grpc/grpc-js';
import { type HostSelector, type HostsResponse, type ListResponse, type LogLine, type LogsRequest, UnavailableError } from '@fleet/protocol';
import { parseInterval } from '../src/commands/monit';
import { makeColors } from '../src/format/color';
import type { Key } from '../src/monit/keys';
import { type MonitApi, runMonit } from '../src/monit/monit-loop';
import type { MonitData } from '../src/monit/monit-state';
import { frameText, openTtyScreen, type Screen } from '../src/monit/tty-screen';
import { capture, runFleet } from './helpers';
import { fleetData, logLine } from './monit-fixtures';

type FakeStream = EventEmitter & { req: LogsRequest; cancelled: boolean; cancel(): void };

function fakeApi(data: () => MonitData | Error) {
  const streams: FakeStream[] = [];
  const asked: Array<HostSelector | undefined> = [];
  let lists = 0;
  const api: MonitApi = {
    list: (req) => {
      lists++;
      asked.push(req.where);
      const d = data();
      return d instanceof Error ? Promise.reject(d) : Promise.resolve({ apps: d.apps } as ListResponse);
    },
    hosts: (req) => {
      asked.push(req.where);
      const d = data();
      return d instanceof Error ? Promise.reject(d) : Promise.resolve({ hosts: d.hosts } as HostsResponse);
    },
    logs: (req) => {
      const s = Object.assign(new EventEmitter(), {
        req,
        cancelled: false,
        cancel: () => {
          s.cancelled = true;
          setImmediate(() => s.emit('error', Object.assign(new Error('Call cancelled'), { code: 1 })));
        },
      });
      streams.push(s);
      return s as unknown as ClientReadableStream<LogLine>;
    },
  };
  return { api, streams, asked, lists: () => lists };
}

function fakeScreen() {
  const frames: string[][] = [];
  let key: (k: Key) => void = () => undefined;
  let closed = 0;
  const screen: Screen = {
    keys: true,
    size: () => ({ columns: 120, rows: 40 }),
    draw: (lines) => frames.push(lines),
    onKey: (h) => (key = h),
    onResize: () => undefined,
    clear: () => undefined,
    close: () => closed++,
  };
  // Without the highlight's escape codes, as a person reads it.
  const last = (): string => frames.at(-1)!.join('\n').replace(/\u001b\[[0-9;]*m/g, '');
  return { screen, frames, press: (k: Key) => key(k), last, closed: () => closed };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 3000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A running loop; stopped after the test whatever its outcome, so a failure cannot leave it ticking. */
function start(t: TestContext, data: () => MonitData | Error, where?: HostSelector) {
  const api = fakeApi(data);
  const screen = fakeScreen();
  let stop: () => void = () => undefined;
  let stopRemoved = false;
  const done = runMonit({
    api: api.api,
    where,
    intervalMs: 20,
    colors: makeColors(false),
    title: 'test',
    openScreen: () => screen.screen,
    onStop: (s) => {
      stop = s;
      return () => (stopRemoved = true);
    },
  });
  t.after(() => stop());
  return { ...api, ...screen, done, stop: () => stop(), stopRemoved: () => stopRemoved };
}

test('draws at once, follows the selected app’s logs, and a new stream when the selection moves to another app', async (t) => {
  const where: HostSelector = { hosts: ['web1', 'web2', 'web3'], labels: {} };
  const m = start(t, fleetData, where);
  await until(() => m.frames.length > 0 && m.streams.length === 1, 'first frame and stream');
  assert.ok(m.asked.length >= 2 && m.asked.every((w) => w === where), '--hosts/--selector on every call');
  assert.equal(m.streams[0].req.where, where);
  assert.match(m.last(), /^> web1 +api +0/m);
  assert.deepEqual({ target: m.streams[0].req.target, follow: m.streams[0].req.follow }, { target: 'api', follow: true });
  m.streams[0].emit('data', logLine('api', 'hello from api'));
  await until(() => m.last().includes('web1/api#0 | hello from api'), 'the line drawn');

  m.press('down'); // web1/api#1: same app, same stream
  assert.equal(m.streams.length, 1);
  assert.match(m.last(), /^> web1 +api +1/m);
  m.press('down'); // web1/worker#0
  assert.equal(m.streams.length, 2, 'a new stream for the new app');
  assert.equal(m.streams[0].cancelled, true, 'the old one cancelled');
  assert.equal(m.streams[1].req.target, 'worker');
  assert.match(m.last(), /^LOGS · worker$/m);
  assert.doesNotMatch(m.last(), /hello from api/, 'the other app’s lines are gone');
  // A late line of the cancelled stream is not shown.
  m.streams[0].emit('data', logLine('api', 'late'));
  m.streams[1].emit('data', logLine('worker', 'job done'));
  await until(() => m.last().includes('web1/worker#0 | job done'), 'worker line');
  assert.doesNotMatch(m.last(), /late/);

  m.press('quit');
  assert.equal(await m.done, 0);
  assert.equal(m.closed(), 1, 'the screen closed');
  assert.equal(m.streams[1].cancelled, true, 'the stream cancelled');
  assert.equal(m.stopRemoved(), true, 'signal handlers removed');
  const lists = m.lists();
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(m.lists(), lists, 'no refresh after quitting');
});

test('refreshes every interval; a failure keeps the data with the error, the next success clears it', async (t) => {
  let answer: MonitData | Error = fleetData();
  const m = start(t, () => answer);
  await until(() => m.lists() >= 2, 'a second refresh');
  answer = new UnavailableError('cannot reach controller test');
  await until(() => m.last().includes('! cannot reach controller test (retrying every 20ms)'), 'the error in the footer');
  assert.match(m.last(), /^> web1 +api +0/m, 'the last data stays');
  const fewer = fleetData();
  fewer.apps = fewer.apps.filter((a) => a.host === 'web2');
  answer = fewer;
  await until(() => !m.last().includes('cannot reach') && m.last().includes('2 processes, 2 online'), 'recovered');
  assert.match(m.last(), /^> web2 +api +0/m, 'the selected process went: the selection stays at its position');
  m.stop();
  assert.equal(await m.done, 0);
});

test('a log stream that fails is said so and started again on the next refresh', async (t) => {
  const m = start(t, fleetData);
  await until(() => m.streams.length === 1, 'stream');
  m.streams[0].emit('error', Object.assign(new Error('14 UNAVAILABLE: connection dropped'), { code: 14, details: 'connection dropped' }));
  await until(() => m.streams.length === 2, 'a new stream');
  assert.equal(m.streams[1].req.target, 'api');
  await until(() => /LOGS · api \(.*; retrying\)/.test(m.last()), 'the error in the title');
  m.streams[1].emit('data', logLine('api', 'back'));
  await until(() => /^LOGS · api$/m.test(m.last()) && m.last().includes('| back'), 'error cleared by a line');
  m.stop();
  await m.done;
});

test('the first refresh failing fails the command before the screen opens', async () => {
  let opened = false;
  const api = fakeApi(() => new UnavailableError('cannot reach controller test'));
  await assert.rejects(
    runMonit({ api: api.api, intervalMs: 20, colors: makeColors(false), title: 't', openScreen: () => ((opened = true), fakeScreen().screen), onStop: () => () => undefined }),
    /cannot reach controller test/,
  );
  assert.equal(opened, false);
});

test('the tty screen: alternate screen, no cursor, no wrap, raw keys; close restores all of it once', () => {
  const out = Object.assign(capture(true), { columns: 20, rows: 5, resize: [] as Array<() => void>, on: (_: 'resize', f: () => void) => out.resize.push(f), off: () => (out.resize = []) });
  const input = Object.assign(new EventEmitter(), {
    isTTY: true,
    raw: false,
    flowing: false,
    setRawMode: (b: boolean) => (input.raw = b),
    setEncoding: () => undefined,
    resume: () => (input.flowing = true),
    pause: () => (input.flowing = false),
  });
  const proc = new EventEmitter();
  const screen = openTtyScreen(out, input, proc as unknown as NodeJS.Process);
  assert.equal(out.text, '\u001b[?1049h\u001b[?25l\u001b[?7l\u001b[2J\u001b[H');
  assert.equal(input.raw, true);
  assert.equal(input.flowing, true);
  const keys: Key[] = [];
  screen.onKey((k) => keys.push(k));
  input.emit('data', '\u001b[Bjq');
  assert.deepEqual(keys, ['down', 'down', 'quit']);
  screen.draw(['a', 'b']);
  screen.draw(['a', 'b']);
  assert.equal(out.text.split('\u001b[H').length - 1, 2, 'an unchanged frame is not sent again');
  let resized = 0;
  screen.onResize(() => resized++);
  out.resize[0]();
  assert.equal(resized, 1);
  assert.ok(out.text.endsWith('\u001b[2J'), 'cleared on resize');
  assert.equal(proc.listenerCount('exit'), 1, 'restores on exit too');
  out.text = '';
  screen.close();
  screen.close();
  assert.equal(out.text, '\u001b[0m\u001b[?1049l\u001b[?7h\u001b[?25h', 'restored once');
  assert.equal(input.raw, false);
  assert.equal(input.flowing, false, 'stdin released, so the process can end');
  assert.equal(proc.listenerCount('exit'), 0);
  assert.equal(input.listenerCount('data'), 0);
});

test('a frame: each row cleared after its text, except a full row (clearing there would eat its last character)', () => {
  assert.equal(frameText(['ab', 'abcd'], 4), '\u001b[Hab\u001b[K\r\nabcd\u001b[J');
});

test('fleet monit without a terminal is refused with exit 2 and names what prints the same once', async () => {
  const r = await runFleet(['monit']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^error: fleet monit draws a live screen and needs a terminal, but stdout is not one\n {2}fix: .*fleet ls.*fleet hosts.*--json/);
  assert.equal(r.stdout, '');
});

test('--interval: milliseconds or a unit, 100ms to 1h; anything else is bad usage', async () => {
  assert.equal(parseInterval('500'), 500);
  assert.equal(parseInterval('2s'), 2000);
  assert.equal(parseInterval('0.5s'), 500);
  assert.equal(parseInterval('1m'), 60_000);
  assert.throws(() => parseInterval('50ms'), /100ms to 1h/);
  assert.throws(() => parseInterval('61m'), /100ms to 1h/);
  assert.throws(() => parseInterval('fast'), /use milliseconds/);
  const r = await runFleet(['monit', '--interval', '10ms']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /100ms to 1h/);
  const bad = await runFleet(['monit', '--selector', 'zone']);
  assert.equal(bad.code, 2, 'a malformed selector is bad usage');
});
