import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { AppInfo, InstanceInfo, InstanceStatus } from '@fleet/protocol';
import { diffEvents, encodeEvents } from '../../src/link/event-state';

function app(name: string, instance: Partial<InstanceInfo>): AppInfo {
  return AppInfo.fromPartial({ spec: { name }, desired: 'online', instances: [InstanceInfo.fromPartial({ app: name, status: InstanceStatus.INSTANCE_STATUS_ONLINE, pid: 10, ...instance })] });
}

test('events: a status, pid or restart change is one; CPU and memory figures are not', () => {
  const before = encodeEvents([app('api', { cpuPercent: 1, memoryBytes: 100 })]);
  assert.deepEqual(diffEvents(before, [app('api', { cpuPercent: 80, memoryBytes: 900, uptimeMs: 5000, eventLoopLagMs: 12 })]).delta, { changed: [], removed: [] });
  const restarted = app('api', { pid: 11, restarts: 1 });
  assert.deepEqual(diffEvents(before, [restarted]).delta.changed, [restarted]);
  const errored = app('api', { status: InstanceStatus.INSTANCE_STATUS_ERRORED });
  assert.equal(diffEvents(before, [errored]).delta.changed.length, 1);
  const { delta } = diffEvents(before, [app('worker', {})]);
  assert.deepEqual(delta.removed, ['api']);
  assert.deepEqual(delta.changed.map((a) => a.spec?.name), ['worker']);
});
