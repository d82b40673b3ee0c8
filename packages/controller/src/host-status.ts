// A host's status over time, as a pure function of what the controller last
// heard and when: ready while heartbeats arrive; disconnected when the link
// drops or three heartbeats are missed; down after down_after disconnected.
import { HostStatus } from '@fleet/protocol';

export interface HostStatusPolicy {
  heartbeatMs: number;
  downAfterMs: number;
}

export const DEFAULT_STATUS_POLICY: HostStatusPolicy = { heartbeatMs: 5_000, downAfterMs: 5 * 60_000 };
export const MISSED_HEARTBEATS = 3;

export interface HostTimes {
  status: HostStatus;
  statusSinceMs: number;
  lastSeenMs: number;
}

export function statusAt(h: HostTimes, now: number, policy: HostStatusPolicy): HostStatus {
  if (h.status === HostStatus.HOST_STATUS_READY && now - h.lastSeenMs > MISSED_HEARTBEATS * policy.heartbeatMs) {
    return HostStatus.HOST_STATUS_DISCONNECTED;
  }
  if (h.status === HostStatus.HOST_STATUS_DISCONNECTED && now - h.statusSinceMs > policy.downAfterMs) {
    return HostStatus.HOST_STATUS_DOWN;
  }
  return h.status;
}

/** When the status next changes by time alone, so the controller can set one timer rather than poll. */
export function nextStatusChangeAt(h: HostTimes, policy: HostStatusPolicy): number | undefined {
  if (h.status === HostStatus.HOST_STATUS_READY) return h.lastSeenMs + MISSED_HEARTBEATS * policy.heartbeatMs + 1;
  if (h.status === HostStatus.HOST_STATUS_DISCONNECTED) return h.statusSinceMs + policy.downAfterMs + 1;
  return undefined;
}

/** Clock skew worth telling the user about: log times and deadlines go wrong beyond it. */
export const CLOCK_SKEW_WARN_MS = 5_000;

export function skewProblem(name: string, skewMs: number): string {
  if (Math.abs(skewMs) < CLOCK_SKEW_WARN_MS) return '';
  const secs = Math.round(skewMs / 1000);
  return `clock of ${name} is ${Math.abs(secs)} s ${secs > 0 ? 'ahead of' : 'behind'} the controller: log times and merge order are off; sync it (timedatectl set-ntp true)`;
}
