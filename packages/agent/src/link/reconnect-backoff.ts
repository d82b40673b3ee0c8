// How long an agent waits before dialing the controller again: exponential,
// capped, and jittered so a fleet whose controller restarts does not dial back
// all at the same instant.
export interface BackoffPolicy {
  baseMs: number;
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 500, maxMs: 15_000 };

/** attempt 0 is the first retry. Half the step is fixed, half random ("equal jitter"). */
export function reconnectDelay(attempt: number, random: () => number, policy: BackoffPolicy = DEFAULT_BACKOFF): number {
  const step = Math.min(policy.maxMs, policy.baseMs * 2 ** Math.min(attempt, 30));
  return Math.round(step / 2 + random() * (step / 2));
}
