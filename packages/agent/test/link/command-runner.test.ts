import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  ConflictError,
  HOST_CALLS,
  NotFoundError,
  type Command,
  type HostCalls,
  type HostMethod,
  type HostRequest,
  type HostResponse,
} from '@fleet/protocol';
import { CommandRunner } from '../../src/link/command-runner';

type Handlers = { [M in HostMethod]?: (req: HostRequest<M>) => Promise<HostResponse<M>> };

/** A host whose calls count their invocations; methods not given fail the test if reached. */
function fakeHost(handlers: Handlers): { host: HostCalls; calls: string[] } {
  const calls: string[] = [];
  const host = {} as Record<string, unknown>;
  for (const method of Object.keys(HOST_CALLS)) {
    host[method] = async (req: unknown) => {
      calls.push(method);
      const h = (handlers as Record<string, ((r: unknown) => Promise<unknown>) | undefined>)[method];
      if (!h) throw new Error(`the test did not expect ${method}`);
      return h(req);
    };
  }
  return { host: host as HostCalls, calls };
}

function command<M extends HostMethod>(id: string, method: M, req: HostRequest<M>): Command {
  const codec = HOST_CALLS[method].request as unknown as { encode(m: unknown): { finish(): Uint8Array } };
  return { id, method, request: Buffer.from(codec.encode(req).finish()) };
}

const STOP_OK: HostResponse<'stop'> = {
  results: [{ app: 'api', appId: 1, ok: true, error: '', errorCode: '', message: 'stopped 2 instances', host: 'web1' }],
};

test('run decodes the request, calls the host, and answers with the encoded response under the same id', async () => {
  const seen: unknown[] = [];
  const { host, calls } = fakeHost({
    stop: async (req) => {
      seen.push(req);
      return STOP_OK;
    },
  });
  const runner = new CommandRunner(host);
  const result = await runner.run(command('c-1', 'stop', { target: 'api', where: undefined }));
  assert.deepEqual(calls, ['stop']);
  assert.deepEqual(seen, [{ target: 'api', where: undefined }]);
  assert.equal(result.id, 'c-1');
  assert.equal(result.errorCode, '');
  assert.equal(result.errorMessage, '');
  assert.equal(result.errorHint, '');
  assert.deepEqual(HOST_CALLS.stop.response.decode(result.response), STOP_OK);
});

test('a command seen again is answered from the record and does not run twice', async () => {
  let n = 0;
  const { host, calls } = fakeHost({
    restart: async () => ({ results: [{ ...STOP_OK.results[0], message: `restart #${++n}` }] }),
  });
  const runner = new CommandRunner(host);
  const cmd = command('c-42', 'restart', { target: 'api', where: undefined });
  const first = await runner.run(cmd);
  const again = await runner.run({ ...cmd });
  assert.deepEqual(calls, ['restart'], 'one invocation for one command id');
  assert.deepEqual(again, first);
  assert.equal(HOST_CALLS.restart.response.decode(again.response).results[0].message, 'restart #1');

  // Another id is another command.
  const other = await runner.run(command('c-43', 'restart', { target: 'api', where: undefined }));
  assert.deepEqual(calls, ['restart', 'restart']);
  assert.equal(HOST_CALLS.restart.response.decode(other.response).results[0].message, 'restart #2');
});

test('a command re-sent while still running joins the run under way', async () => {
  let release!: () => void;
  const { host, calls } = fakeHost({
    reload: () => new Promise((resolve) => (release = () => resolve(STOP_OK))),
  });
  const runner = new CommandRunner(host);
  const cmd = command('c-7', 'reload', { target: 'api', where: undefined });
  const a = runner.run(cmd);
  const b = runner.run(cmd);
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(calls, ['reload']);
  release();
  const [ra, rb] = await Promise.all([a, b]);
  assert.deepEqual(ra, rb);
  assert.equal(ra.errorCode, '');
  assert.deepEqual(calls, ['reload']);
});

test('a failed command is also answered from the record, not retried', async () => {
  const { host, calls } = fakeHost({
    delete: async () => {
      throw new NotFoundError('no app named "ghost"', { hint: 'see `fleet ls`' });
    },
  });
  const runner = new CommandRunner(host);
  const cmd = command('c-9', 'delete', { target: 'ghost', where: undefined });
  const a = await runner.run(cmd);
  const b = await runner.run(cmd);
  assert.deepEqual(calls, ['delete']);
  assert.deepEqual(a, b);
});

test('an unknown method is a BAD_INPUT result telling the user to upgrade the agent; nothing runs', async () => {
  const { host, calls } = fakeHost({});
  const runner = new CommandRunner(host);
  for (const method of ['teleport', 'toString', '__proto__', 'constructor', '']) {
    const result = await runner.run({ id: `u-${method}`, method, request: Buffer.alloc(0) });
    assert.equal(result.id, `u-${method}`);
    assert.equal(result.errorCode, 'BAD_INPUT', method);
    assert.ok(result.errorMessage.includes(`"${method}"`));
    assert.match(result.errorHint, /upgrade fleet on the host/);
    assert.equal(result.response.length, 0);
  }
  assert.deepEqual(calls, []);
});

test('a FleetError thrown by the host becomes its code, message and hint', async () => {
  const { host } = fakeHost({
    scale: async () => {
      throw new ConflictError('api is being reloaded', { hint: 'wait for the reload to finish', app: 'api' });
    },
  });
  const result = await new CommandRunner(host).run(command('c-1', 'scale', { target: 'api', count: '4', where: undefined }));
  assert.equal(result.id, 'c-1');
  assert.equal(result.errorCode, 'CONFLICT');
  assert.equal(result.errorMessage, 'api is being reloaded');
  assert.equal(result.errorHint, 'wait for the reload to finish');
  assert.equal(result.response.length, 0);
});

test('a FleetError without a hint gives an empty hint; any other error is FAILED with its message', async () => {
  const { host } = fakeHost({
    flush: async () => {
      throw new NotFoundError('no app x');
    },
    save: async () => {
      throw new TypeError('cannot read dump file');
    },
  });
  const runner = new CommandRunner(host);
  const a = await runner.run(command('a', 'flush', { target: 'x', where: undefined }));
  assert.deepEqual([a.errorCode, a.errorMessage, a.errorHint], ['NOT_FOUND', 'no app x', '']);
  const b = await runner.run(command('b', 'save', { where: undefined }));
  assert.deepEqual([b.errorCode, b.errorMessage, b.errorHint], ['FAILED', 'cannot read dump file', '']);
});

test('a request that cannot be decoded is a FAILED result, not a crash of the agent', async () => {
  const { host, calls } = fakeHost({ list: async () => ({ apps: [] }) });
  const result = await new CommandRunner(host).run({ id: 'bad', method: 'list', request: Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff]) });
  assert.equal(result.errorCode, 'FAILED');
  assert.ok(result.errorMessage.length > 0);
  assert.deepEqual(calls, []);
});
