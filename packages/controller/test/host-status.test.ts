import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { HostStatus } from '@fleet/protocol';
import {
  CLOCK_SKEW_WARN_MS,
  DEFAULT_STATUS_POLICY,
  MISSED_HEARTBEATS,
  nextStatusChangeAt,
  skewProblem,
  statusAt,
  type HostStatusPolicy,
  type HostTimes,
} from '../src/host-status';

const { HOST_STATUS_READY: READY, HOST_STATUS_DISCONNECTED: DISCONNECTED, HOST_STATUS_DOWN: DOWN } = HostStatus;
const policy: HostStatusPolicy = { heartbeatMs: 1_000, downAfterMs: 60_000 };
const T0 = 1_700_000_000_000;

function times(status: HostStatus, statusSinceMs = T0, lastSeenMs = T0): HostTimes {
  return { status, statusSinceMs, lastSeenMs };
}

test('defaults: 5 s heartbeats, down after 5 min, three missed heartbeats disconnect', () => {
  assert.deepEqual(DEFAULT_STATUS_POLICY, { heartbeatMs: 5_000, downAfterMs: 300_000 });
  assert.equal(MISSED_HEARTBEATS, 3);
});

test('statusAt: a ready host stays ready through three heartbeat intervals, then is disconnected', () => {
  const h = times(READY);
  assert.equal(statusAt(h, T0, policy), READY);
  assert.equal(statusAt(h, T0 + 2_999, policy), READY);
  assert.equal(statusAt(h, T0 + 3_000, policy), READY, 'exactly three intervals is not yet missed');
  assert.equal(statusAt(h, T0 + 3_001, policy), DISCONNECTED);
  // Time alone never takes a ready host straight to down: the disconnect has to be recorded first.
  assert.equal(statusAt(h, T0 + 10 * policy.downAfterMs, policy), DISCONNECTED);
});

test('statusAt: counts from the last heartbeat, not from when the host became ready', () => {
  const h = times(READY, T0, T0 + 50_000);
  assert.equal(statusAt(h, T0 + 53_000, policy), READY);
  assert.equal(statusAt(h, T0 + 53_001, policy), DISCONNECTED);
});

test('statusAt: a disconnected host is down only after downAfterMs in that status', () => {
  const h = times(DISCONNECTED, T0, T0 - 1_000_000);
  assert.equal(statusAt(h, T0, policy), DISCONNECTED);
  assert.equal(statusAt(h, T0 + 60_000, policy), DISCONNECTED, 'exactly downAfterMs is not yet down');
  assert.equal(statusAt(h, T0 + 60_001, policy), DOWN);
});

test('statusAt: down and unspecified hosts do not change by time', () => {
  assert.equal(statusAt(times(DOWN), T0 + 1e9, policy), DOWN);
  assert.equal(statusAt(times(HostStatus.HOST_STATUS_UNSPECIFIED), T0 + 1e9, policy), HostStatus.HOST_STATUS_UNSPECIFIED);
});

test('nextStatusChangeAt: the first instant at which statusAt gives another answer', () => {
  const ready = times(READY, T0 - 5_000, T0);
  const at = nextStatusChangeAt(ready, policy)!;
  assert.equal(at, T0 + 3_001);
  assert.equal(statusAt(ready, at - 1, policy), READY);
  assert.equal(statusAt(ready, at, policy), DISCONNECTED);

  const disc = times(DISCONNECTED, T0, T0 - 9_000);
  const downAt = nextStatusChangeAt(disc, policy)!;
  assert.equal(downAt, T0 + 60_001);
  assert.equal(statusAt(disc, downAt - 1, policy), DISCONNECTED);
  assert.equal(statusAt(disc, downAt, policy), DOWN);

  assert.equal(nextStatusChangeAt(times(DOWN), policy), undefined);
  assert.equal(nextStatusChangeAt(times(HostStatus.HOST_STATUS_UNSPECIFIED), policy), undefined);
});

test('skewProblem: silent under 5 s either way', () => {
  assert.equal(CLOCK_SKEW_WARN_MS, 5_000);
  assert.equal(skewProblem('web1', 0), '');
  assert.equal(skewProblem('web1', 4_999), '');
  assert.equal(skewProblem('web1', -4_999), '');
});

test('skewProblem: from 5 s on, names the host, the seconds and the direction, and says how to fix it', () => {
  const ahead = skewProblem('web1', 5_000);
  assert.match(ahead, /^clock of web1 is 5 s ahead of the controller/);
  assert.match(ahead, /timedatectl set-ntp true/);

  const behind = skewProblem('db2', -12_400);
  assert.match(behind, /^clock of db2 is 12 s behind the controller/);
  assert.doesNotMatch(behind, /-12/, 'the number is a magnitude; the word gives the direction');
  assert.doesNotMatch(behind, /ahead/);

  assert.match(skewProblem('web1', -5_000), /5 s behind/);
  assert.match(skewProblem('web1', 90_600), /91 s ahead of/);
});
