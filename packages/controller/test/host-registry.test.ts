import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import {
  AppInfo,
  ConflictError,
  HostInfo,
  HostStatus,
  InstanceInfo,
  InstanceStatus,
  NotFoundError,
  type HostSelector,
  type Register,
} from '@fleet/protocol';
import type { HostLink } from '../src/host-link';
import { hostStatusWord } from '@fleet/protocol';
import { HostRegistry } from '../src/host-registry';

const { HOST_STATUS_READY: READY, HOST_STATUS_DISCONNECTED: DISCONNECTED, HOST_STATUS_DOWN: DOWN } = HostStatus;
const T0 = 1_700_000_000_000;
const POLICY = { heartbeatMs: 1_000, downAfterMs: 60_000 };

interface FakeLink extends HostLink {
  closed: string[];
}

function fakeLink(): FakeLink {
  const closed: string[] = [];
  return {
    closed,
    call: () => Promise.reject(new Error('a fake link runs nothing')),
    close: (reason: string) => {
      closed.push(reason);
    },
  };
}

function reg(name: string, over: Partial<Register> = {}): Register {
  return {
    name,
    labels: {},
    agentVersion: '0.1.0',
    protocolVersion: 1,
    os: 'linux',
    cpus: 4,
    memoryTotalBytes: 8e9,
    env: {},
    instanceId: `${name}-instance-a`,
    timeMs: 0,
    ...over,
  };
}

function setup() {
  const clock = { now: T0 };
  const changes: string[] = [];
  const registry = new HostRegistry({ now: () => clock.now, policy: POLICY, onChange: (n) => changes.push(n) });
  return { clock, changes, registry };
}

function instance(over: Partial<InstanceInfo> = {}): InstanceInfo {
  return InstanceInfo.fromPartial({
    app: 'api',
    instance: 0,
    pid: 4242,
    status: InstanceStatus.INSTANCE_STATUS_ONLINE,
    cpuPercent: 37.5,
    memoryBytes: 50e6,
    uptimeMs: 123,
    startedMs: T0 - 10_000,
    ...over,
  });
}

function app(name: string, instances: InstanceInfo[] = [instance({ app: name })]): AppInfo {
  return AppInfo.fromPartial({ spec: { name }, desired: 'online', instances });
}

const where = (hosts: string[], labels: Record<string, string> = {}): HostSelector => ({ hosts, labels });
const names = (entries: { info: HostInfo }[]): string[] => entries.map((e) => e.info.name);

test('hostStatusWord: the words `fleet hosts` shows', () => {
  assert.equal(hostStatusWord(READY), 'ready');
  assert.equal(hostStatusWord(DISCONNECTED), 'disconnected');
  assert.equal(hostStatusWord(DOWN), 'down');
  assert.equal(hostStatusWord(HostStatus.HOST_STATUS_UNSPECIFIED), 'unknown');
  assert.equal(hostStatusWord(HostStatus.UNRECOGNIZED), 'unknown');
});

test('attach registers the host as ready with what the agent reported, and notifies', () => {
  const { registry, changes } = setup();
  const link = fakeLink();
  const entry = registry.attach(
    reg('web1', { labels: { role: 'web' }, env: { NODE_ENV: 'production' }, agentVersion: '0.2.0', cpus: 8, timeMs: T0 + 1_000 }),
    link,
    '10.0.0.5:51000',
  );
  assert.equal(registry.get('web1'), entry);
  assert.equal(entry.link, link);
  assert.equal(entry.instanceId, 'web1-instance-a');
  const i = entry.info;
  assert.equal(i.name, 'web1');
  assert.equal(i.status, READY);
  assert.equal(i.statusSinceMs, T0);
  assert.equal(i.lastSeenMs, T0);
  assert.deepEqual(i.labels, { role: 'web' });
  assert.deepEqual(i.env, { NODE_ENV: 'production' });
  assert.equal(i.agentVersion, '0.2.0');
  assert.equal(i.cpus, 8);
  assert.equal(i.address, '10.0.0.5:51000');
  assert.equal(i.clockSkewMs, 1_000);
  assert.equal(i.problem, '', 'a 1 s skew is no problem');
  assert.deepEqual(changes, ['web1']);
  assert.deepEqual(link.closed, []);
});

test('attach with a clock far off reports the skew as the host problem; no agent time means no skew', () => {
  const { registry } = setup();
  const e = registry.attach(reg('web1', { timeMs: T0 - 30_000 }), fakeLink(), 'a');
  assert.equal(e.info.clockSkewMs, -30_000);
  assert.match(e.info.problem, /clock of web1 is 30 s behind the controller/);
  assert.equal(e.info.status, READY, 'skew is reported, not punished');

  const f = registry.attach(reg('web2', { timeMs: 0 }), fakeLink(), 'b');
  assert.equal(f.info.clockSkewMs, 0);
  assert.equal(f.info.problem, '');
});

test('a second agent under a linked name is refused with ConflictError and the first keeps the host', () => {
  const { registry, changes } = setup();
  const first = fakeLink();
  registry.attach(reg('web1', { instanceId: 'A' }), first, '10.0.0.5:51000');
  const second = fakeLink();
  assert.throws(
    () => registry.attach(reg('web1', { instanceId: 'B', labels: { role: 'db' } }), second, '10.0.0.9:40000'),
    (err: unknown) => {
      assert.ok(err instanceof ConflictError);
      assert.match(err.message, /"web1"/);
      assert.match(err.message, /10\.0\.0\.5:51000/, 'says where the agent holding the name runs');
      assert.match(err.hint ?? '', /--name/);
      assert.equal(err.host, 'web1');
      return true;
    },
  );
  const entry = registry.get('web1')!;
  assert.equal(entry.link, first);
  assert.equal(entry.instanceId, 'A');
  assert.deepEqual(entry.info.labels, {}, 'the refused agent changed nothing');
  assert.equal(entry.info.address, '10.0.0.5:51000');
  assert.deepEqual(first.closed, []);
  assert.deepEqual(second.closed, []);
  assert.deepEqual(changes, ['web1']);
});

test('the same agent reconnecting replaces its old link and closes it', () => {
  const { registry, clock } = setup();
  const old = fakeLink();
  registry.attach(reg('web1', { instanceId: 'A' }), old, 'a:1');
  clock.now += 2_000;
  const fresh = fakeLink();
  const entry = registry.attach(reg('web1', { instanceId: 'A' }), fresh, 'a:2');
  assert.equal(entry.link, fresh);
  assert.equal(old.closed.length, 1);
  assert.match(old.closed[0], /replaced/);
  assert.deepEqual(fresh.closed, []);
  assert.equal(entry.info.address, 'a:2');
  assert.equal(entry.info.lastSeenMs, T0 + 2_000);

  // The old stream's end arrives late: it must not disconnect the new link.
  registry.detach('web1', old, 'link lost: the link closed');
  assert.equal(registry.get('web1')!.link, fresh);
  assert.equal(registry.get('web1')!.info.status, READY);
  assert.equal(registry.get('web1')!.info.problem, '');
});

test('after a disconnect another agent process may take the name', () => {
  const { registry } = setup();
  const a = fakeLink();
  registry.attach(reg('web1', { instanceId: 'A' }), a, 'x');
  registry.detach('web1', a, 'link lost');
  const b = fakeLink();
  const entry = registry.attach(reg('web1', { instanceId: 'B' }), b, 'y');
  assert.equal(entry.link, b);
  assert.equal(entry.info.status, READY);
});

test('detach by the current link disconnects with the reason and notifies; unknown hosts are ignored', () => {
  const { registry, clock, changes } = setup();
  const link = fakeLink();
  registry.attach(reg('web1'), link, 'x');
  clock.now += 500;
  registry.detach('web1', link, 'link lost: the agent went away');
  const e = registry.get('web1')!;
  assert.equal(e.info.status, DISCONNECTED);
  assert.equal(e.info.statusSinceMs, T0 + 500);
  assert.equal(e.info.problem, 'link lost: the agent went away');
  assert.equal(e.link, undefined);
  assert.equal(e.instanceId, undefined);
  assert.deepEqual(changes, ['web1', 'web1']);
  assert.deepEqual(link.closed, [], 'detach reports a closed link; it does not close it again');

  registry.detach('nope', link, 'x');
  assert.equal(registry.get('nope'), undefined);
  assert.deepEqual(changes, ['web1', 'web1']);
});

test('tick: three missed heartbeats disconnect the host and close its link; downAfter later it is down', () => {
  const { registry, clock, changes } = setup();
  const link = fakeLink();
  registry.attach(reg('web1'), link, 'x');
  changes.length = 0;

  clock.now = T0 + 3_000;
  registry.tick();
  assert.equal(registry.get('web1')!.info.status, READY, 'exactly three intervals: still ready');
  assert.deepEqual(link.closed, []);
  assert.deepEqual(changes, []);

  clock.now = T0 + 3_001;
  registry.tick();
  const e = registry.get('web1')!;
  assert.equal(e.info.status, DISCONNECTED);
  assert.equal(e.info.statusSinceMs, T0 + 3_001);
  assert.match(e.info.problem, /no heartbeat for 3 s/);
  assert.equal(e.link, undefined);
  assert.equal(e.instanceId, undefined);
  assert.equal(link.closed.length, 1, 'the silent link is closed so a stuck stream does not linger');
  assert.match(link.closed[0], /no heartbeat for 3 s/);
  assert.deepEqual(changes, ['web1']);

  registry.tick();
  assert.equal(link.closed.length, 1, 'closed once');
  assert.deepEqual(changes, ['web1'], 'no change, no notice');

  clock.now = T0 + 3_001 + 60_000;
  registry.tick();
  assert.equal(registry.get('web1')!.info.status, DISCONNECTED);
  clock.now += 1;
  registry.tick();
  assert.equal(registry.get('web1')!.info.status, DOWN);
  assert.match(registry.get('web1')!.info.problem, /disconnected for more than 60 s/);
  assert.deepEqual(changes, ['web1', 'web1']);

  // A new agent process may now take the name: the silent one no longer holds it.
  const next = fakeLink();
  registry.attach(reg('web1', { instanceId: 'other' }), next, 'y');
  assert.equal(registry.get('web1')!.info.status, READY);
});

test('heartbeats keep a host ready and update last seen, load, free memory and skew', () => {
  const { registry, clock, changes } = setup();
  const link = fakeLink();
  registry.attach(reg('web1'), link, 'x');
  for (let t = 1; t <= 10; t++) {
    clock.now = T0 + t * 2_500;
    registry.heartbeat('web1', { timeMs: clock.now + 200, load1: t / 10, memoryFreeBytes: 1e9 - t , diskFreeBytes: 0, diskTotalBytes: 0});
    registry.tick();
  }
  const i = registry.get('web1')!.info;
  assert.equal(i.status, READY);
  assert.equal(i.lastSeenMs, T0 + 25_000);
  assert.equal(i.load1, 1);
  assert.equal(i.memoryFreeBytes, 1e9 - 10);
  assert.equal(i.clockSkewMs, 200);
  assert.equal(i.problem, '');
  assert.deepEqual(link.closed, []);
  assert.deepEqual(changes, ['web1'], 'heartbeats alone are no change worth persisting');
});

test('heartbeat: the skew problem appears and clears as the agent clock drifts; unknown hosts are ignored', () => {
  const { registry, clock } = setup();
  registry.attach(reg('web1'), fakeLink(), 'x');
  clock.now += 1_000;
  registry.heartbeat('web1', { timeMs: clock.now + 7_000, load1: 0, memoryFreeBytes: 0 , diskFreeBytes: 0, diskTotalBytes: 0});
  assert.equal(registry.get('web1')!.info.clockSkewMs, 7_000);
  assert.match(registry.get('web1')!.info.problem, /clock of web1 is 7 s ahead of the controller/);
  registry.heartbeat('web1', { timeMs: clock.now, load1: 0, memoryFreeBytes: 0 , diskFreeBytes: 0, diskTotalBytes: 0});
  assert.equal(registry.get('web1')!.info.problem, '');

  registry.heartbeat('ghost', { timeMs: clock.now, load1: 1, memoryFreeBytes: 1 , diskFreeBytes: 0, diskTotalBytes: 0});
  assert.equal(registry.get('ghost'), undefined);
});

test('heartbeat does not overwrite why a host is not ready', () => {
  const { registry } = setup();
  const link = fakeLink();
  registry.attach(reg('web1'), link, 'x');
  registry.detach('web1', link, 'link lost: reset');
  registry.heartbeat('web1', { timeMs: T0 + 60_000, load1: 0, memoryFreeBytes: 0 , diskFreeBytes: 0, diskTotalBytes: 0});
  assert.equal(registry.get('web1')!.info.problem, 'link lost: reset');
  assert.equal(registry.get('web1')!.info.status, DISCONNECTED);
});

function threeHosts() {
  const s = setup();
  s.registry.attach(reg('web2', { labels: { role: 'web', zone: 'b' } }), fakeLink(), 'x');
  s.registry.attach(reg('db1', { labels: { role: 'db', zone: 'a' } }), fakeLink(), 'x');
  s.registry.attach(reg('web1', { labels: { role: 'web', zone: 'a' } }), fakeLink(), 'x');
  return s;
}

test('select: no selector or an empty one is every host, sorted by name', () => {
  const { registry } = threeHosts();
  assert.deepEqual(names(registry.select(undefined)), ['db1', 'web1', 'web2']);
  assert.deepEqual(names(registry.select(where([]))), ['db1', 'web1', 'web2']);
  assert.deepEqual(names(registry.all()), ['db1', 'web1', 'web2']);
});

test('select: by names, by labels, and by both at once', () => {
  const { registry } = threeHosts();
  assert.deepEqual(names(registry.select(where(['web2', 'db1']))), ['db1', 'web2']);
  assert.deepEqual(names(registry.select(where([], { role: 'web' }))), ['web1', 'web2']);
  assert.deepEqual(names(registry.select(where([], { role: 'web', zone: 'a' }))), ['web1']);
  assert.deepEqual(names(registry.select(where(['web1', 'web2', 'db1'], { zone: 'a' }))), ['db1', 'web1']);
});

test('select: unknown names are a NotFoundError naming them and listing the known hosts', () => {
  const { registry } = threeHosts();
  assert.throws(
    () => registry.select(where(['web1', 'web9'])),
    (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.match(err.message, /unknown host web9$/);
      assert.equal(err.host, 'web9');
      assert.match(err.hint ?? '', /known hosts: db1, web1, web2/);
      return true;
    },
  );
  assert.throws(() => registry.select(where(['x', 'y'])), /unknown hosts x, y/);
});

test('select: with no host registered the hint says to start an agent', () => {
  const { registry } = setup();
  assert.deepEqual(registry.select(undefined), []);
  assert.throws(
    () => registry.select(where(['web1'])),
    (err: unknown) => err instanceof NotFoundError && /fleet agent --controller/.test(err.hint ?? ''),
  );
});

test('select: a selector matching no host is a NotFoundError, never an empty list', () => {
  const { registry } = threeHosts();
  assert.throws(
    () => registry.select(where([], { role: 'cache' })),
    (err: unknown) => {
      assert.ok(err instanceof NotFoundError);
      assert.match(err.message, /no host matches --selector role=cache/);
      assert.match(err.hint ?? '', /fleet hosts/);
      return true;
    },
  );
  assert.throws(() => registry.select(where(['db1'], { role: 'web' })), /no host matches --hosts db1 --selector role=web/);
});

test('snapshot replaces the apps; delta changes and removes; both refresh last seen and notify', () => {
  const { registry, clock, changes } = setup();
  registry.attach(reg('web1'), fakeLink(), 'x');
  changes.length = 0;

  clock.now = T0 + 100;
  registry.snapshot('web1', [app('api'), app('worker'), app('cron')]);
  assert.deepEqual([...registry.get('web1')!.apps.keys()], ['api', 'worker', 'cron']);
  assert.equal(registry.get('web1')!.info.lastSeenMs, T0 + 100);

  clock.now = T0 + 200;
  const changedApi = app('api', [instance({ app: 'api', restarts: 3 })]);
  registry.delta('web1', { changed: [changedApi, app('mailer')], removed: ['cron'] });
  const apps = registry.get('web1')!.apps;
  assert.deepEqual([...apps.keys()].sort(), ['api', 'mailer', 'worker']);
  assert.equal(apps.get('api')!.instances[0].restarts, 3);
  assert.equal(registry.get('web1')!.info.lastSeenMs, T0 + 200);

  registry.snapshot('web1', [app('only')]);
  assert.deepEqual([...registry.get('web1')!.apps.keys()], ['only'], 'a snapshot drops apps it does not list');
  assert.deepEqual(changes, ['web1', 'web1', 'web1']);

  registry.snapshot('ghost', [app('x')]);
  registry.delta('ghost', { changed: [app('x')], removed: [] });
  assert.equal(registry.get('ghost'), undefined);
  assert.equal(changes.length, 3);
});

test('view counts apps and instances', () => {
  const { registry } = setup();
  registry.attach(reg('web1'), fakeLink(), 'x');
  registry.snapshot('web1', [app('api', [instance(), instance({ instance: 1 })]), app('worker')]);
  const v = registry.view(registry.get('web1')!);
  assert.equal(v.apps, 2);
  assert.equal(v.instances, 3);
  assert.equal(v.name, 'web1');
});

test('appsOf a ready host: host stamped, uptime from startedMs on the controller clock, online only', () => {
  const { registry, clock } = setup();
  registry.attach(reg('web1'), fakeLink(), 'x');
  registry.snapshot('web1', [
    app('api', [
      instance({ instance: 0, startedMs: T0 - 10_000, uptimeMs: 5 }),
      instance({ instance: 1, status: InstanceStatus.INSTANCE_STATUS_STOPPED, startedMs: T0 - 10_000, uptimeMs: 5 }),
      instance({ instance: 2, startedMs: 0 }),
      instance({ instance: 3, startedMs: T0 + 5_000 }),
    ]),
  ]);
  clock.now = T0 + 2_000;
  const [a] = registry.appsOf(registry.get('web1')!);
  assert.equal(a.host, 'web1');
  assert.deepEqual(
    a.instances.map((i) => [i.host, i.status, i.uptimeMs, i.cpuPercent]),
    [
      ['web1', InstanceStatus.INSTANCE_STATUS_ONLINE, 12_000, 37.5],
      ['web1', InstanceStatus.INSTANCE_STATUS_STOPPED, 0, 37.5],
      ['web1', InstanceStatus.INSTANCE_STATUS_ONLINE, 0, 37.5],
      ['web1', InstanceStatus.INSTANCE_STATUS_ONLINE, 0, 37.5],
    ],
  );
  // The stored report is not modified by the view.
  assert.equal(registry.get('web1')!.apps.get('api')!.instances[0].uptimeMs, 5);
});

test('appsOf an unreachable host: instances are unknown with no cpu or uptime, not gone', () => {
  const { registry } = setup();
  const link = fakeLink();
  registry.attach(reg('web1'), link, 'x');
  registry.snapshot('web1', [app('api', [instance(), instance({ instance: 1 })])]);
  registry.detach('web1', link, 'link lost');
  const [a] = registry.appsOf(registry.get('web1')!);
  assert.equal(a.instances.length, 2);
  for (const i of a.instances) {
    assert.equal(i.status, InstanceStatus.INSTANCE_STATUS_UNKNOWN);
    assert.equal(i.cpuPercent, 0);
    assert.equal(i.uptimeMs, 0);
    assert.equal(i.host, 'web1');
    assert.equal(i.pid, 4242, 'the last known pid is still shown');
  }
  assert.equal(registry.get('web1')!.apps.get('api')!.instances[0].status, InstanceStatus.INSTANCE_STATUS_ONLINE);
});

test('load: persisted hosts come back disconnected with a problem, their down clock from their last sighting', () => {
  const { registry, clock, changes } = setup();
  registry.load([
    {
      info: HostInfo.fromPartial({ name: 'web1', status: READY, statusSinceMs: T0 - 100_000, lastSeenMs: T0 - 20_000, labels: { role: 'web' } }),
      apps: [app('api'), app('worker')],
    },
    { info: HostInfo.fromPartial({ name: 'db1', status: DOWN, statusSinceMs: T0 - 500_000, lastSeenMs: T0 - 900_000 }), apps: [] },
    { info: HostInfo.fromPartial({ name: 'new', status: READY, lastSeenMs: 0 }), apps: [] },
  ]);
  const web1 = registry.get('web1')!;
  assert.equal(web1.info.status, DISCONNECTED);
  assert.equal(web1.info.statusSinceMs, T0 - 20_000);
  assert.match(web1.info.problem, /waiting for its agent to reconnect/);
  assert.equal(web1.link, undefined);
  assert.deepEqual([...web1.apps.keys()], ['api', 'worker']);
  assert.deepEqual(web1.info.labels, { role: 'web' });
  assert.equal(registry.get('db1')!.info.status, DOWN);
  assert.equal(registry.get('db1')!.info.statusSinceMs, T0 - 500_000);
  assert.equal(registry.get('new')!.info.statusSinceMs, T0, 'never seen: the clock starts now');
  assert.deepEqual(changes, [], 'loading what is on disk is not a change to persist');

  // Its instances show as unknown until the agent reports again.
  assert.equal(registry.appsOf(web1)[0].instances[0].status, InstanceStatus.INSTANCE_STATUS_UNKNOWN);

  clock.now = T0 - 20_000 + 60_001;
  registry.tick();
  assert.equal(registry.get('web1')!.info.status, DOWN);
  assert.equal(registry.get('new')!.info.status, DISCONNECTED);

  // The agent coming back makes it ready and keeps its apps until its snapshot.
  registry.attach(reg('web1'), fakeLink(), 'x');
  assert.equal(registry.get('web1')!.info.status, READY);
  assert.equal(registry.get('web1')!.info.problem, '');
  assert.deepEqual([...registry.get('web1')!.apps.keys()], ['api', 'worker']);
});

test('persisted() round-trips through load() in a new registry', () => {
  const { registry, clock } = threeHosts();
  registry.snapshot('web1', [app('api'), app('worker')]);
  registry.snapshot('db1', [app('pg-backup')]);
  // As the controller store writes and reads it: proto JSON through a file's text.
  const text = JSON.stringify(registry.persisted().map((h) => ({ info: HostInfo.toJSON(h.info), apps: h.apps.map((a) => AppInfo.toJSON(a)) })));
  const saved = (JSON.parse(text) as { info: unknown; apps: unknown[] }[]).map((h) => ({
    info: HostInfo.fromJSON(h.info),
    apps: h.apps.map((a) => AppInfo.fromJSON(a)),
  }));
  assert.equal(saved.length, 3);

  clock.now = T0 + 10_000;
  const next = new HostRegistry({ now: () => clock.now, policy: POLICY });
  next.load(saved);
  assert.deepEqual(names(next.all()), ['db1', 'web1', 'web2']);
  for (const e of next.all()) {
    const before = registry.get(e.info.name)!;
    assert.equal(e.info.status, DISCONNECTED);
    assert.deepEqual(e.info.labels, before.info.labels);
    assert.deepEqual([...e.apps.keys()], [...before.apps.keys()]);
    assert.deepEqual([...e.apps.values()], [...before.apps.values()]);
  }
  assert.deepEqual(names(next.select(where([], { role: 'web' }))), ['web1', 'web2'], 'labels still select after a restart');
});
