import { EventEmitter } from 'node:events';
import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { Metadata, status, type ServerDuplexStream, type ServiceError } from '@grpc/grpc-js';
import {
  ActionResponse,
  AppInfo,
  AppSpec,
  DeniedError,
  HOST_CALLS,
  HostStatus,
  LINK_PROTOCOL_VERSION,
  LogStream,
  NotFoundError,
  UnavailableError,
  type AgentMessage,
  type CommandResult,
  type ControllerMessage,
  type LogBatch,
  type LogLine,
  type Register,
} from '@fleet/protocol';
import { createAgentLinkServer, RECONNECT_GRACE_MS } from '../src/agent-link-server';
import type { Authorizer } from '../src/authorizer';
import { HostRegistry } from '../src/host-registry';
import { LogHub } from '../src/log-hub';

const { HOST_STATUS_READY: READY, HOST_STATUS_DISCONNECTED: DISCONNECTED } = HostStatus;
const { LOG_STREAM_OUT: OUT, LOG_STREAM_ERR: ERR, LOG_STREAM_UNSPECIFIED: ANY } = LogStream;
const T0 = 1_700_000_000_000;
const POLICY = { heartbeatMs: 2_000, downAfterMs: 60_000 };
const CONNECT_PATH = '/fleet.v1.AgentLink/Connect';

/** The server's side of one Connect stream, without a network. */
class FakeStream extends EventEmitter {
  readonly metadata = new Metadata();
  readonly written: ControllerMessage[] = [];
  /** What the server reported with stream.emit('error', …): a refusal, or the link dying. */
  readonly errors: Partial<ServiceError>[] = [];
  ends = 0;
  writableEnded = false;
  destroyed = false;

  constructor(private readonly peer: string) {
    super();
    // Before connect: the server may refuse before it listens to 'error' itself.
    this.on('error', (err: Partial<ServiceError>) => this.errors.push(err));
  }

  getPeer(): string {
    return this.peer;
  }

  write(msg: ControllerMessage): boolean {
    if (this.writableEnded) throw new Error('write after end');
    this.written.push(msg);
    return true;
  }

  end(): void {
    this.ends++;
    this.writableEnded = true;
  }

  send(msg: AgentMessage): void {
    this.emit('data', msg);
  }

  get commands() {
    return this.written.filter((m) => m.command).map((m) => m.command!);
  }

  get acks(): number[] {
    return this.written.filter((m) => m.logAck).map((m) => m.logAck!.seq);
  }
}

function reg(name: string, over: Partial<Register> = {}): Register {
  return {
    name,
    labels: { role: 'web' },
    agentVersion: '0.1.0',
    protocolVersion: LINK_PROTOCOL_VERSION,
    os: 'linux',
    cpus: 4,
    memoryTotalBytes: 8e9,
    env: { REGION: 'eu' },
    instanceId: `${name}-instance-a`,
    timeMs: T0,
    ...over,
  };
}

function line(text: string, over: Partial<LogLine> = {}): LogLine {
  return { app: 'api', instance: 0, stream: OUT, line: text, timeMs: T0, host: '', dropped: 0, ...over };
}

function batch(seq: number, texts: string[], over: Partial<LogBatch> = {}): LogBatch {
  return { lines: texts.map((t) => line(t)), dropped: 0, seq, ...over };
}

function app(name: string, desired = 'online'): AppInfo {
  return AppInfo.fromPartial({ spec: AppSpec.fromPartial({ name }), desired });
}

function setup(authorize: Authorizer = () => ({ role: 'agent', tokenId: 't1' })) {
  const clock = { now: T0 };
  const registry = new HostRegistry({ now: () => clock.now, policy: POLICY });
  const hub = new LogHub();
  const published: LogLine[] = [];
  hub.subscribe({ stream: ANY }, (l) => published.push(l));
  const logged: string[] = [];
  const authCalls: { metadata: Metadata; method: string }[] = [];
  const server = createAgentLinkServer({
    registry,
    logs: hub,
    authorize: (metadata, method) => {
      authCalls.push({ metadata, method });
      return authorize(metadata, method);
    },
    log: (m) => logged.push(m),
    now: () => clock.now,
  });
  let peers = 0;
  const connect = (peer = `ipv4:10.0.0.${++peers}:40000`): FakeStream => {
    const stream = new FakeStream(peer);
    server.connect(stream as unknown as ServerDuplexStream<AgentMessage, ControllerMessage>);
    return stream;
  };
  /** A stream that registered `name` and had its `registered` reply. */
  const register = (name: string, over: Partial<Register> = {}, peer?: string): FakeStream => {
    const stream = connect(peer);
    stream.send({ register: reg(name, over) });
    assert.deepEqual(stream.errors, [], `${name} registers`);
    return stream;
  };
  return { clock, registry, hub, published, logged, authCalls, connect, register };
}

function fleetMeta(err: Partial<ServiceError>, key: string): string | undefined {
  const v = err.metadata?.get(key)[0];
  return v === undefined ? undefined : String(v);
}

/** Exactly one refusal with the gRPC status and Fleet code, and its message. */
function refusal(stream: FakeStream, code: status, fleetCode: string): string {
  assert.equal(stream.errors.length, 1, `one refusal, got ${JSON.stringify(stream.errors.map((e) => e.details))}`);
  const err = stream.errors[0];
  assert.equal(err.code, code);
  assert.equal(fleetMeta(err, 'fleet-code'), fleetCode);
  return err.details ?? '';
}

async function outcome<T>(p: Promise<T>): Promise<{ value?: T; error?: unknown }> {
  try {
    return { value: await p };
  } catch (error) {
    return { error };
  }
}

test('a valid register makes the host ready and is answered by registered with the heartbeat interval', () => {
  const { registry, authCalls, logged, connect } = setup();
  const s = connect('ipv4:10.1.2.3:51000');
  s.metadata.set('authorization', 'Bearer agent-token');
  // connect() authorized with the stream's metadata before any message.
  assert.equal(authCalls.length, 1);
  assert.equal(authCalls[0].method, CONNECT_PATH);
  assert.equal(authCalls[0].metadata, s.metadata);
  assert.deepEqual(s.written, [], 'nothing is sent before the agent registers');

  s.send({ register: reg('web1', { timeMs: T0 + 1_000 }) });

  assert.deepEqual(s.errors, []);
  assert.deepEqual(s.written, [
    { registered: { protocolVersion: LINK_PROTOCOL_VERSION, heartbeatIntervalMs: POLICY.heartbeatMs, timeMs: T0 } },
  ]);
  const entry = registry.get('web1');
  assert.ok(entry, 'web1 is in the registry');
  assert.equal(entry.info.status, READY);
  assert.equal(entry.info.address, 'ipv4:10.1.2.3:51000');
  assert.deepEqual(entry.info.labels, { role: 'web' });
  assert.deepEqual(entry.info.env, { REGION: 'eu' });
  assert.equal(entry.info.agentVersion, '0.1.0');
  assert.equal(entry.info.protocolVersion, LINK_PROTOCOL_VERSION);
  assert.equal(entry.info.cpus, 4);
  assert.equal(entry.info.clockSkewMs, 1_000);
  assert.equal(entry.instanceId, 'web1-instance-a');
  assert.ok(entry.link, 'the host has a link');
  assert.equal(s.ends, 0);
  assert.ok(logged.some((m) => m.includes('host web1 connected from ipv4:10.1.2.3:51000')), logged.join('\n'));
  assert.equal(authCalls.length, 1, 'authorized once per stream, not per message');
});

test('data before register is refused and registers nothing', () => {
  const { registry, connect } = setup();
  const s = connect();
  s.send({ heartbeat: { timeMs: T0, load1: 0.1, memoryFreeBytes: 1 , diskFreeBytes: 0, diskTotalBytes: 0} });
  const msg = refusal(s, status.INVALID_ARGUMENT, 'BAD_INPUT');
  assert.match(msg, /before registering/);
  assert.deepEqual(s.written, []);
  assert.equal(registry.all().length, 0);
});

test('an invalid host name is refused with a message naming the name', () => {
  const { registry, logged, connect } = setup();
  for (const bad of ['', '-web1', '.web1', 'web 1', 'web1/a', 'web1:22', 'x'.repeat(64)]) {
    const s = connect();
    s.send({ register: reg(bad) });
    const msg = refusal(s, status.INVALID_ARGUMENT, 'BAD_INPUT');
    assert.ok(msg.includes(`host name "${bad}" is not valid`), msg);
    assert.equal(fleetMeta(s.errors[0], 'fleet-host'), bad || undefined);
    assert.deepEqual(s.written, [], `nothing sent to "${bad}"`);
  }
  assert.equal(registry.all().length, 0);
  assert.ok(logged.some((m) => m.startsWith('refused agent at ')), logged.join('\n'));
  // The longest and the punctuation a name may have.
  const { register, registry: r2 } = setup();
  for (const good of ['a', 'web-1.eu_west', 'x'.repeat(63)]) {
    register(good);
    assert.equal(r2.get(good)?.info.status, READY, good);
  }
});

test(
  'an invalid host name outside printable ASCII is refused too, not thrown',
  () => {
    const { registry, connect } = setup();
    for (const bad of ['wéb1', 'web\n1', 'web\u00001']) {
      const s = connect();
      assert.doesNotThrow(() => s.send({ register: reg(bad) }), `"${bad}" is refused, not thrown`);
      const msg = refusal(s, status.INVALID_ARGUMENT, 'BAD_INPUT');
      assert.ok(msg.includes(`host name "${bad}" is not valid`), msg);
    }
    assert.equal(registry.all().length, 0);
  },
);

test('a protocol version newer than the controller\'s is refused: upgrade the controller', () => {
  const { registry, connect } = setup();
  const s = connect();
  s.send({ register: reg('web1', { protocolVersion: LINK_PROTOCOL_VERSION + 1 }) });
  const msg = refusal(s, status.INVALID_ARGUMENT, 'BAD_INPUT');
  assert.match(msg, /upgrade the controller/);
  assert.equal(fleetMeta(s.errors[0], 'fleet-host'), 'web1');
  assert.deepEqual(s.written, []);
  assert.equal(registry.get('web1'), undefined);
});

test('an unauthorized agent is refused at connect: nothing registered, later messages ignored', () => {
  const { registry, connect, authCalls } = setup(() => {
    throw new DeniedError('unknown token', { hint: 'create one with `fleet token create --role agent`' });
  });
  const s = connect();
  assert.equal(authCalls.length, 1);
  const msg = refusal(s, status.PERMISSION_DENIED, 'DENIED');
  assert.equal(msg, 'unknown token');
  assert.equal(fleetMeta(s.errors[0], 'fleet-hint'), 'create one with `fleet token create --role agent`');
  s.send({ register: reg('web1') });
  assert.deepEqual(s.written, []);
  assert.equal(s.errors.length, 1);
  assert.equal(registry.get('web1'), undefined);
  assert.equal(registry.all().length, 0);
});

test('another agent process claiming a connected name is refused; the first stays ready', () => {
  const { registry, register, connect } = setup();
  const first = register('web1', { instanceId: 'a' }, 'ipv4:10.0.0.1:1');
  const firstLink = registry.get('web1')!.link;

  const second = connect('ipv4:10.0.0.2:2');
  second.send({ register: reg('web1', { instanceId: 'b' }) });
  const msg = refusal(second, status.FAILED_PRECONDITION, 'CONFLICT');
  assert.match(msg, /taken by a connected agent/);
  assert.ok(msg.includes('ipv4:10.0.0.1:1'), 'names the address holding the name');
  assert.deepEqual(second.written, []);

  const entry = registry.get('web1')!;
  assert.equal(entry.info.status, READY);
  assert.equal(entry.link, firstLink);
  assert.equal(entry.instanceId, 'a');
  assert.equal(entry.info.address, 'ipv4:10.0.0.1:1');
  assert.equal(first.ends, 0, 'the first link is left alone');
  assert.deepEqual(first.errors, []);

  // The refused stream closing does not touch the first agent's host.
  second.emit('close');
  assert.equal(registry.get('web1')!.info.status, READY);
  assert.equal(registry.get('web1')!.link, firstLink);
});

test('the same agent process registering again replaces its old link; commands in flight are sent again, same id', async () => {
  const { registry, register, published } = setup();
  const old = register('web1', { instanceId: 'a' }, 'ipv4:10.0.0.1:1');
  const oldLink = registry.get('web1')!.link!;
  const pending = outcome(oldLink.call('restart', { target: 'api', where: undefined }));
  const sentFirst = old.commands[0];

  const fresh = register('web1', { instanceId: 'a' }, 'ipv4:10.0.0.1:2');
  assert.equal(fresh.written[0].registered?.heartbeatIntervalMs, POLICY.heartbeatMs);

  const entry = registry.get('web1')!;
  assert.equal(entry.info.status, READY);
  assert.notEqual(entry.link, oldLink);
  assert.equal(entry.info.address, 'ipv4:10.0.0.1:2');
  assert.equal(old.ends, 1, 'the old stream was ended');
  assert.ok(old.writableEnded);
  // The agent answers once, on the new stream, by id: the call resolves.
  assert.deepEqual(fresh.commands.map((c) => [c.id, c.method]), [[sentFirst.id, 'restart']]);
  const answer: ActionResponse = { results: [] };
  fresh.send({ result: { id: sentFirst.id, response: Buffer.from(ActionResponse.encode(answer).finish()), errorCode: '', errorMessage: '', errorHint: '' } });
  assert.deepEqual((await pending).value, answer);

  // A late batch on the replaced stream: the new link resends it, so it is neither taken nor acknowledged here.
  old.send({ logs: batch(1, ['late']) });
  assert.equal(published.length, 0);
  assert.deepEqual(old.acks, []);

  // The old stream's end, seen late, leaves the new link alone.
  old.emit('end');
  old.emit('close');
  assert.equal(registry.get('web1')!.info.status, READY);
  assert.equal(registry.get('web1')!.link, entry.link);
  assert.equal(fresh.ends, 0);

  fresh.send({ logs: batch(1, ['resent']) });
  assert.deepEqual(published.map((l) => l.line), ['resent']);
  assert.deepEqual(fresh.acks, [1]);
});

test('heartbeat, snapshot and delta update the registry', () => {
  const { registry, register, clock } = setup();
  const s = register('web1');

  clock.now = T0 + 1_500;
  s.send({ heartbeat: { timeMs: T0 + 1_500 + 7_000, load1: 0.75, memoryFreeBytes: 3e9 , diskFreeBytes: 0, diskTotalBytes: 0} });
  let info = registry.get('web1')!.info;
  assert.equal(info.lastSeenMs, T0 + 1_500);
  assert.equal(info.load1, 0.75);
  assert.equal(info.memoryFreeBytes, 3e9);
  assert.equal(info.clockSkewMs, 7_000);
  assert.match(info.problem, /clock of web1 is 7 s ahead/);

  clock.now = T0 + 3_000;
  s.send({ snapshot: { apps: [app('api'), app('worker')] } });
  const entry = registry.get('web1')!;
  assert.deepEqual([...entry.apps.keys()].sort(), ['api', 'worker']);
  assert.equal(entry.info.lastSeenMs, T0 + 3_000);

  clock.now = T0 + 4_000;
  s.send({ delta: { changed: [app('api', 'stopped'), app('cron')], removed: ['worker'] } });
  assert.deepEqual([...entry.apps.keys()].sort(), ['api', 'cron']);
  assert.equal(entry.apps.get('api')!.desired, 'stopped');
  info = registry.get('web1')!.info;
  assert.equal(info.lastSeenMs, T0 + 4_000);
  assert.equal(info.status, READY);
  // State messages are not answered.
  assert.equal(s.written.length, 1);
});

test('log lines are published under the link\'s host name, whatever host the agent wrote, and acknowledged', () => {
  const { register, published, hub } = setup();
  const s = register('web1');
  s.send({
    logs: {
      lines: [line('GET / 200', { host: 'impostor' }), line('boom', { host: '', stream: ERR, app: 'worker', instance: 2 })],
      dropped: 0,
      seq: 1,
    },
  });
  assert.deepEqual(published, [
    line('GET / 200', { host: 'web1' }),
    line('boom', { host: 'web1', stream: ERR, app: 'worker', instance: 2 }),
  ]);
  assert.deepEqual(s.acks, [1]);
  assert.deepEqual(s.written.at(-1), { logAck: { seq: 1 } });
  // The hub keeps them for `fleet logs` under web1, none under the host the agent claimed.
  assert.deepEqual(hub.recent({ stream: ANY, hosts: new Set(['web1']) }, 10).map((l) => l.line).sort(), ['GET / 200', 'boom']);
  assert.deepEqual(hub.recent({ stream: ANY, hosts: new Set(['impostor']) }, 10), []);
});

test('a batch with dropped lines is published with a notice before its lines', () => {
  const { register, published, clock } = setup();
  const s = register('web1');
  clock.now = T0 + 9_000;
  s.send({ logs: batch(1, ['after the gap 1', 'after the gap 2'], { dropped: 42 }) });
  assert.equal(published.length, 3);
  const [notice, ...rest] = published;
  assert.equal(notice.dropped, 42);
  assert.equal(notice.host, 'web1');
  assert.equal(notice.app, '');
  assert.equal(notice.stream, ERR);
  assert.equal(notice.timeMs, T0 + 9_000);
  assert.ok(notice.line.includes('42 log lines from web1 were dropped'), notice.line);
  assert.deepEqual(rest.map((l) => l.line), ['after the gap 1', 'after the gap 2']);
  assert.ok(rest.every((l) => l.dropped === 0 && l.host === 'web1'));
  assert.deepEqual(s.acks, [1]);

  // Only drops, no lines: the notice alone.
  s.send({ logs: batch(2, [], { dropped: 5 }) });
  assert.equal(published.length, 4);
  assert.equal(published[3].dropped, 5);
  assert.deepEqual(s.acks, [1, 2]);
});

test('every numbered batch is acknowledged; a batch number already taken is acknowledged again but not published twice', () => {
  const { register, published } = setup();
  const s = register('web1');
  s.send({ logs: batch(1, ['one']) });
  s.send({ logs: batch(2, ['two']) });
  s.send({ logs: batch(2, ['two']) }); // resent: the ack was lost
  s.send({ logs: batch(1, ['one']) }); // older still
  s.send({ logs: batch(3, ['three']) });
  assert.deepEqual(published.map((l) => l.line), ['one', 'two', 'three']);
  assert.deepEqual(s.acks, [1, 2, 2, 1, 3]);
  // An unnumbered batch is always published and never acknowledged.
  s.send({ logs: batch(0, ['unnumbered']) });
  s.send({ logs: batch(0, ['unnumbered']) });
  assert.deepEqual(published.map((l) => l.line), ['one', 'two', 'three', 'unnumbered', 'unnumbered']);
  assert.deepEqual(s.acks, [1, 2, 2, 1, 3]);
});

test('after the stream ends the host is disconnected; a new agent process numbering from 1 again is taken', () => {
  const { registry, register, published, logged } = setup();
  const s = register('web1', { instanceId: 'a' });
  s.send({ logs: batch(1, ['a1']) });
  s.send({ logs: batch(2, ['a2']) });
  s.send({ logs: batch(3, ['a3']) });

  s.emit('end');
  const entry = registry.get('web1')!;
  assert.equal(entry.info.status, DISCONNECTED);
  assert.equal(entry.link, undefined);
  assert.equal(entry.instanceId, undefined);
  assert.match(entry.info.problem, /^link lost: /);
  assert.ok(s.ends >= 1, 'the server ends its side too');
  assert.ok(logged.some((m) => m.startsWith('host web1 disconnected')), logged.join('\n'));

  // A restarted agent (another process) numbers its batches from 1 again.
  const s2 = register('web1', { instanceId: 'b' });
  assert.equal(registry.get('web1')!.info.status, READY);
  s2.send({ logs: batch(1, ['b1']) });
  s2.send({ logs: batch(2, ['b2']) });
  s2.send({ logs: batch(2, ['b2']) });
  assert.deepEqual(published.map((l) => l.line), ['a1', 'a2', 'a3', 'b1', 'b2']);
  assert.deepEqual(s2.acks, [1, 2, 2]);
});

test('the same agent process reconnecting after its stream ended resends unacknowledged batches: taken ones are skipped', () => {
  const { registry, register, published } = setup();
  const s = register('web1', { instanceId: 'a' });
  s.send({ logs: batch(1, ['a1']) });
  s.send({ logs: batch(2, ['a2']) });
  s.emit('close');
  assert.equal(registry.get('web1')!.info.status, DISCONNECTED);

  const s2 = register('web1', { instanceId: 'a' });
  s2.send({ logs: batch(2, ['a2']) }); // the ack for 2 was lost with the stream
  s2.send({ logs: batch(3, ['a3']) });
  assert.deepEqual(published.map((l) => l.line), ['a1', 'a2', 'a3']);
  assert.deepEqual(s2.acks, [2, 3]);
});

test('an error or a cancel on a registered stream disconnects the host; its pending calls fail when the agent does not redial in time', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const { registry, register } = setup();
  const s = register('web1');
  const pending = outcome(registry.get('web1')!.link!.call('stop', { target: 'api', where: undefined }));
  s.emit('error', new Error('read ECONNRESET'));
  let entry = registry.get('web1')!;
  assert.equal(entry.info.status, DISCONNECTED);
  assert.equal(entry.info.problem, 'link lost: read ECONNRESET');
  t.mock.timers.tick(RECONNECT_GRACE_MS);
  const { error } = await pending;
  assert.ok(error instanceof UnavailableError);
  assert.match(error.message, /web1 disconnected while running stop \(read ECONNRESET\)/);

  const s2 = register('web2');
  s2.emit('cancelled');
  entry = registry.get('web2')!;
  assert.equal(entry.info.status, DISCONNECTED);
  assert.equal(entry.info.problem, 'link lost: the agent went away');
  assert.equal(s2.ends, 1);
  // Nothing is written on an ended stream.
  assert.equal(s2.written.length, 1);
});

test('a command in flight when the link drops is sent again when the same agent redials, and fails if another process comes instead', async () => {
  const { registry, register } = setup();
  const s = register('web1', { instanceId: 'a' });
  const pending = outcome(registry.get('web1')!.link!.call('restart', { target: 'api', where: undefined }));
  const id = s.commands[0].id;
  s.emit('end');
  assert.equal(registry.get('web1')!.info.status, DISCONNECTED);
  const back = register('web1', { instanceId: 'a' });
  assert.deepEqual(back.commands.map((c) => c.id), [id], 'same id: the agent runs it at most once');
  back.send({ result: { id, response: Buffer.from(ActionResponse.encode({ results: [] }).finish()), errorCode: '', errorMessage: '', errorHint: '' } });
  assert.deepEqual((await pending).value, { results: [] });

  const lost = outcome(registry.get('web1')!.link!.call('restart', { target: 'api', where: undefined }));
  back.emit('end');
  const other = register('web1', { instanceId: 'b' });
  assert.deepEqual(other.commands, [], 'a restarted agent is not sent the old commands');
  const { error } = await lost;
  assert.match((error as Error).message, /the agent restarted before answering/);
});

test('a command result routed to the link resolves the pending call', async () => {
  const { registry, register } = setup();
  const s = register('web1');
  const link = registry.get('web1')!.link!;
  const p = link.call('stop', { target: 'api', where: undefined });

  const cmds = s.commands;
  assert.equal(cmds.length, 1);
  const cmd = cmds[0];
  assert.equal(cmd.method, 'stop');
  assert.ok(cmd.id.length > 0);
  assert.deepEqual(HOST_CALLS.stop.request.decode(cmd.request), { target: 'api', where: undefined });

  const answer: ActionResponse = {
    results: [{ app: 'api', appId: 1, ok: true, error: '', errorCode: '', message: 'stopped', host: 'web1' }],
  };
  const result: CommandResult = {
    id: cmd.id,
    response: Buffer.from(ActionResponse.encode(answer).finish()),
    errorCode: '',
    errorMessage: '',
    errorHint: '',
  };
  s.send({ result });
  assert.deepEqual(await p, answer);

  // An error result rejects the next call with its FleetError, naming the host.
  const q = outcome(link.call('stop', { target: 'nope', where: undefined }));
  const id = s.commands[1].id;
  s.send({ result: { id, response: Buffer.alloc(0), errorCode: 'NOT_FOUND', errorMessage: 'no app nope', errorHint: 'see fleet ls' } });
  const { error } = await q;
  assert.ok(error instanceof NotFoundError);
  assert.equal(error.message, 'no app nope');
  assert.equal(error.hint, 'see fleet ls');
  assert.equal(error.host, 'web1');
});

test('an agent that does not register in time is refused', async (t) => {
  t.mock.timers.enable({ apis: ['setTimeout'] });
  const clock = { now: T0 };
  const registry = new HostRegistry({ now: () => clock.now, policy: POLICY });
  const server = createAgentLinkServer({
    registry,
    logs: new LogHub(),
    authorize: () => ({ role: 'agent', tokenId: 't1' }),
    log: () => {},
    now: () => clock.now,
    registerTimeoutMs: 5_000,
  });
  const connectFake = (): FakeStream => {
    const s = new FakeStream('ipv4:10.0.0.9:1');
    server.connect(s as unknown as ServerDuplexStream<AgentMessage, ControllerMessage>);
    return s;
  };
  const silent = connectFake();
  t.mock.timers.tick(4_999);
  assert.deepEqual(silent.errors, []);
  t.mock.timers.tick(1);
  assert.match(refusal(silent, status.INVALID_ARGUMENT, 'BAD_INPUT'), /did not register in time/);

  // One that registered in time is not refused later.
  const prompt = connectFake();
  prompt.send({ register: reg('web1') });
  t.mock.timers.tick(60_000);
  assert.deepEqual(prompt.errors, []);
  assert.equal(registry.get('web1')!.info.status, READY);
});
