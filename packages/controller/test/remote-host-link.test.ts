import { test, type TestContext } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  BadInputError,
  ConflictError,
  DeniedError,
  FleetError,
  HOST_CALLS,
  NotFoundError,
  OperationFailedError,
  UnavailableError,
  type CommandResult,
  type ControllerMessage,
  type HostResponse,
} from '@fleet/protocol';
import { COMMAND_TIMEOUT_MS, RemoteHostLink } from '../src/remote-host-link';

function setup(timeoutMs?: number) {
  const sent: ControllerMessage[] = [];
  let ended = 0;
  const link = new RemoteHostLink('web1', (m) => sent.push(m), () => ended++, timeoutMs);
  return { link, sent, ended: () => ended };
}

function ok(id: string, response: Uint8Array): CommandResult {
  return { id, response: Buffer.from(response), errorCode: '', errorMessage: '', errorHint: '' };
}

function failed(id: string, errorCode: string, errorMessage: string, errorHint = ''): CommandResult {
  return { id, response: Buffer.alloc(0), errorCode, errorMessage, errorHint };
}

/** Settles a promise into a value the test can inspect without unhandled rejections. */
async function outcome<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await p };
  } catch (error) {
    return { error };
  }
}

function mockTimers(t: TestContext): void {
  t.mock.timers.enable({ apis: ['setTimeout'] });
}

test('call sends one Command with a fresh id and the request encoded for its method', async (t) => {
  mockTimers(t);
  const { link, sent } = setup();
  const a = outcome(link.call('restart', { target: 'api', where: undefined }));
  const b = outcome(link.call('list', { fresh: true, summary: false, where: { hosts: ['web1'], labels: {} } }));
  assert.equal(sent.length, 2);
  const [ca, cb] = sent.map((m) => m.command!);
  assert.ok(ca.id.length > 0);
  assert.notEqual(ca.id, cb.id);
  assert.equal(ca.method, 'restart');
  assert.equal(cb.method, 'list');
  assert.deepEqual(HOST_CALLS.restart.request.decode(ca.request), { target: 'api', where: undefined });
  assert.deepEqual(HOST_CALLS.list.request.decode(cb.request), { fresh: true, summary: false, where: { hosts: ['web1'], labels: {} } });
  link.close('test over');
  await Promise.all([a, b]);
});

test('onResult resolves the call with the decoded response; other calls stay pending', async (t) => {
  mockTimers(t);
  const { link, sent } = setup();
  const listing = link.call('list', { fresh: false, summary: false, where: undefined });
  const stop = link.call('stop', { target: 'worker', where: undefined });
  const [listCmd, stopCmd] = sent.map((m) => m.command!);

  const apps: HostResponse<'list'> = {
    apps: [
      {
        appId: 3,
        spec: undefined,
        desired: 'online',
        instances: [],
        runnerPid: 77,
        runnerVersion: '0.1.0',
        reloading: false,
        host: 'web1',
        hostEnv: { REGION: 'eu' },
        metrics: [],
      },
    ],
  };
  link.onResult(ok(listCmd.id, HOST_CALLS.list.response.encode(apps).finish()));
  const got = await listing;
  assert.equal(got.apps.length, 1);
  assert.equal(got.apps[0].appId, 3);
  assert.equal(got.apps[0].runnerPid, 77);
  assert.deepEqual(got.apps[0].hostEnv, { REGION: 'eu' });

  const stopped: HostResponse<'stop'> = {
    results: [{ app: 'worker', appId: 1, ok: true, error: '', errorCode: '', message: 'stopped', host: 'web1' }],
  };
  link.onResult(ok(stopCmd.id, HOST_CALLS.stop.response.encode(stopped).finish()));
  const res = await stop;
  assert.deepEqual(res, stopped);
});

test('an answer for an unknown id, or a second answer, is ignored', async (t) => {
  mockTimers(t);
  const { link, sent } = setup();
  const p = link.call('flush', { target: 'all', where: undefined });
  const id = sent[0].command!.id;
  link.onResult(ok('no-such-id', new Uint8Array()));
  link.onResult(ok(id, HOST_CALLS.flush.response.encode({ results: [] }).finish()));
  link.onResult(failed(id, 'FAILED', 'late duplicate'));
  assert.deepEqual(await p, { results: [] });
});

test('error results reject with the matching FleetError subclass, carrying message, hint and host', async (t) => {
  mockTimers(t);
  const cases: [string, new (...a: never[]) => FleetError][] = [
    ['NOT_FOUND', NotFoundError],
    ['BAD_INPUT', BadInputError],
    ['CONFLICT', ConflictError],
    ['UNAVAILABLE', UnavailableError],
    ['DENIED', DeniedError],
    ['FAILED', OperationFailedError],
    ['SOMETHING_NEW', OperationFailedError],
  ];
  const { link, sent } = setup();
  for (const [code, cls] of cases) {
    const p = outcome(link.call('reload', { target: 'api', where: undefined }));
    const id = sent.at(-1)!.command!.id;
    link.onResult(failed(id, code, `api did not become ready (${code})`, 'raise listen_timeout'));
    const { error } = await p;
    assert.ok(error instanceof cls, `${code} → ${cls.name}, got ${String(error)}`);
    const e = error as FleetError;
    assert.equal(e.message, `api did not become ready (${code})`);
    assert.equal(e.hint, 'raise listen_timeout');
    assert.equal(e.host, 'web1');
  }
  const p = outcome(link.call('reload', { target: 'api', where: undefined }));
  link.onResult(failed(sent.at(-1)!.command!.id, 'NOT_FOUND', 'no app x'));
  const { error } = await p;
  assert.ok(error instanceof NotFoundError);
  assert.equal(error.hint, undefined, 'an empty hint on the wire is no hint');
});

test('an unreadable answer rejects UnavailableError naming the host and method', async (t) => {
  mockTimers(t);
  const { link, sent } = setup();
  const p = outcome(link.call('list', { fresh: false, summary: false, where: undefined }));
  link.onResult(ok(sent[0].command!.id, Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff])));
  const { error } = await p;
  assert.ok(error instanceof UnavailableError);
  assert.match(error.message, /web1 sent an unreadable answer to list/);
  assert.equal(error.host, 'web1');
});

test('a call with no answer rejects UnavailableError at the timeout, not before; a late answer is ignored', async (t) => {
  mockTimers(t);
  const { link, sent } = setup(30_000);
  let settled = false;
  const p = outcome(link.call('start', { apps: [], updateEnv: false, where: undefined })).finally(() => (settled = true));
  t.mock.timers.tick(29_999);
  await Promise.resolve();
  assert.equal(settled, false);
  t.mock.timers.tick(1);
  const { error } = await p;
  assert.ok(error instanceof UnavailableError);
  assert.match(error.message, /^web1 did not answer start within 30 s$/);
  assert.equal(error.host, 'web1');
  link.onResult(ok(sent[0].command!.id, HOST_CALLS.start.response.encode({ results: [], apps: [] }).finish()));
});

test('the default timeout outlasts a slow start but stays under the CLI deadline of 10 minutes', () => {
  assert.ok(COMMAND_TIMEOUT_MS >= 5 * 60_000);
  assert.ok(COMMAND_TIMEOUT_MS < 10 * 60_000);
});

test('an answer in time clears the timer: nothing rejects later', async (t) => {
  mockTimers(t);
  const { link, sent } = setup(1_000);
  const p = outcome(link.call('flush', { target: 'all', where: undefined }));
  link.onResult(ok(sent[0].command!.id, HOST_CALLS.flush.response.encode({ results: [] }).finish()));
  t.mock.timers.tick(5_000);
  assert.deepEqual(await p, { value: { results: [] } });
});

test('close rejects every pending call: host named, "may or may not have run", and ends the stream once', async (t) => {
  mockTimers(t);
  const { link, sent, ended } = setup();
  const a = outcome(link.call('restart', { target: 'api', where: undefined }));
  const b = outcome(link.call('delete', { target: 'old', where: undefined }));
  link.close('no heartbeat for 15 s');
  for (const [p, method] of [
    [a, 'restart'],
    [b, 'delete'],
  ] as const) {
    const { error } = await p;
    assert.ok(error instanceof UnavailableError);
    assert.equal(error.host, 'web1');
    assert.match(error.message, /^web1 disconnected while running /);
    assert.ok(error.message.includes(method));
    assert.ok(error.message.includes('no heartbeat for 15 s'));
    assert.ok(error.message.includes('may or may not have run'));
    assert.ok(error.message.includes('fleet ls --hosts web1'));
  }
  assert.equal(ended(), 1);
  link.close('again');
  assert.equal(ended(), 1, 'closing twice ends the stream once');

  // Answers after close have no one to go to.
  link.onResult(ok(sent[0].command!.id, new Uint8Array()));
});

test('calls after close reject at once without sending anything', async (t) => {
  mockTimers(t);
  const { link, sent } = setup();
  link.close('replaced by a newer link of the same agent');
  const { error } = await outcome(link.call('list', { fresh: false, summary: false, where: undefined }));
  assert.ok(error instanceof UnavailableError);
  assert.equal(error.message, 'web1 is not connected');
  assert.equal(error.host, 'web1');
  assert.equal(sent.length, 0);
});
