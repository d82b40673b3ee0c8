import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AppInfo, InstanceInfo, InstanceStatus } from '@fleet/protocol';
import { diffState, encodeState, isEmptyDelta } from '../../src/link/state-diff';

const T0 = 1_700_000_000_000;

function inst(over: Partial<InstanceInfo> = {}): InstanceInfo {
  return InstanceInfo.fromPartial({
    instance: 0,
    pid: 100,
    status: InstanceStatus.INSTANCE_STATUS_ONLINE,
    cpuPercent: 1,
    memoryBytes: 1e6,
    startedMs: T0,
    uptimeMs: 1_000,
    ...over,
  });
}

function app(name: string, instances: InstanceInfo[] = [inst({ app: name })], over: Partial<AppInfo> = {}): AppInfo {
  return AppInfo.fromPartial({ spec: { name, script: `/srv/${name}.js` }, desired: 'online', instances, ...over });
}

const namesOf = (apps: AppInfo[]): string[] => apps.map((a) => a.spec!.name);

test('the first report after connect lists every app as changed', () => {
  const { delta, next } = diffState(new Map(), [app('api'), app('worker')]);
  assert.deepEqual(namesOf(delta.changed), ['api', 'worker']);
  assert.deepEqual(delta.removed, []);
  assert.deepEqual([...next.keys()], ['api', 'worker']);
});

test('nothing changed: an empty delta', () => {
  const apps = [app('api'), app('worker')];
  const { delta, next } = diffState(encodeState(apps), apps.map((a) => AppInfo.fromPartial(a)));
  assert.ok(isEmptyDelta(delta));
  assert.deepEqual(next, encodeState(apps));
});

test('uptime moving is not a change (the controller derives it from startedMs)', () => {
  const before = [app('api', [inst({ uptimeMs: 1_000 }), inst({ instance: 1, uptimeMs: 1_000 })])];
  const after = [app('api', [inst({ uptimeMs: 61_000 }), inst({ instance: 1, uptimeMs: 9_999_999 })])];
  const { delta } = diffState(encodeState(before), after);
  assert.ok(isEmptyDelta(delta), JSON.stringify(delta));
});

test('the delta keeps the real uptime of the apps it sends', () => {
  const { delta } = diffState(new Map(), [app('api', [inst({ uptimeMs: 42 })])]);
  assert.equal(delta.changed[0].instances[0].uptimeMs, 42);
});

test('only the apps that changed are sent, whole', () => {
  const before = [app('api'), app('worker'), app('cron')];
  const after = [
    app('api'),
    app('worker', [inst({ app: 'worker', restarts: 1, pid: 101 })]),
    app('cron', [inst({ app: 'cron', status: InstanceStatus.INSTANCE_STATUS_STOPPED })]),
  ];
  const { delta } = diffState(encodeState(before), after);
  assert.deepEqual(namesOf(delta.changed), ['worker', 'cron']);
  assert.equal(delta.changed[0], after[1]);
  assert.deepEqual(delta.removed, []);
});

test('what counts as a change: status, pid, restarts, cpu, memory, instance count, desired, reloading', () => {
  const base = app('api');
  const variants: [string, AppInfo][] = [
    ['status', app('api', [inst({ app: 'api', status: InstanceStatus.INSTANCE_STATUS_ERRORED })])],
    ['pid', app('api', [inst({ app: 'api', pid: 999 })])],
    ['restarts', app('api', [inst({ app: 'api', restarts: 2 })])],
    ['cpu', app('api', [inst({ app: 'api', cpuPercent: 80 })])],
    ['memory', app('api', [inst({ app: 'api', memoryBytes: 5e8 })])],
    ['startedMs', app('api', [inst({ app: 'api', startedMs: T0 + 5 })])],
    ['scaled', app('api', [inst({ app: 'api' }), inst({ app: 'api', instance: 1 })])],
    ['desired', app('api', undefined, { desired: 'stopped' })],
    ['reloading', app('api', undefined, { reloading: true })],
    ['spec', AppInfo.fromPartial({ ...base, spec: { name: 'api', script: '/srv/api-v2.js' } })],
  ];
  for (const [what, changed] of variants) {
    const { delta } = diffState(encodeState([base]), [changed]);
    assert.deepEqual(namesOf(delta.changed), ['api'], `${what} is a change`);
  }
});

test('apps gone since the last report are listed as removed, by name', () => {
  const before = [app('api'), app('worker'), app('cron')];
  const { delta, next } = diffState(encodeState(before), [app('api')]);
  assert.deepEqual(delta.changed, []);
  assert.deepEqual(delta.removed, ['worker', 'cron']);
  assert.ok(!isEmptyDelta(delta));
  assert.deepEqual([...next.keys()], ['api']);

  // Reported once: the next diff from `next` does not repeat it.
  assert.ok(isEmptyDelta(diffState(next, [app('api')]).delta));
});

test('all apps deleted: every one removed, none changed', () => {
  const { delta } = diffState(encodeState([app('a'), app('b')]), []);
  assert.deepEqual(delta, { changed: [], removed: ['a', 'b'] });
});

test('added and removed in one report', () => {
  const { delta } = diffState(encodeState([app('old')]), [app('new')]);
  assert.deepEqual(namesOf(delta.changed), ['new']);
  assert.deepEqual(delta.removed, ['old']);
});

test('isEmptyDelta', () => {
  assert.ok(isEmptyDelta({ changed: [], removed: [] }));
  assert.ok(!isEmptyDelta({ changed: [app('a')], removed: [] }));
  assert.ok(!isEmptyDelta({ changed: [], removed: ['a'] }));
});
