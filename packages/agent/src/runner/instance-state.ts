// The lifecycle of one instance: the only place its status changes.
//
//   STOPPED ─────── start ───────┐
//   ERRORED ─────── start ───────┤
//   WAITING_RESTART ─ delay over ┤
//                                v
//                            LAUNCHING ─── ready ───> ONLINE
//                             │    │                  │    │
//                             │    └─ exit ──┐┌─ exit ─┘    │
//                             │              vv             │
//                             │       decideRestart:        │
//                             │         restart -> WAITING_RESTART
//                             │         stop    -> STOPPED
//                             │         errored -> ERRORED
//                             │                             │
//                             └─ stop asked ─> STOPPING <───┘ stop asked
//                                                 │
//                                                 └─ exited ─> STOPPED
//
//   Also: WAITING_RESTART -> STOPPED   (stop asked during the backoff: no process to signal)
//         WAITING_RESTART -> STOPPING  (for a runner that sends every stop through STOPPING)
//         ERRORED -> STOPPED           (stop asked after a crash loop)
//
// LAUNCHING covers spawn until ready (started, 'ready' over IPC, or listening);
// an exit before ready or a spawn failure goes through decideRestart like any
// other exit. STOPPING only ends in STOPPED: once a stop is asked, however the
// process dies, nothing restarts it. A restart the user asks for is
// ONLINE -> STOPPING -> STOPPED -> LAUNCHING: each step is a fact worth an event.
// Moving to the current status is illegal too, so a caller never records a
// non-event; idempotent commands check `status` or `canTransition` first.

import { InstanceStatus, type InstanceEvent } from '@fleet/protocol/runner';

const {
  INSTANCE_STATUS_LAUNCHING: LAUNCHING,
  INSTANCE_STATUS_ONLINE: ONLINE,
  INSTANCE_STATUS_STOPPING: STOPPING,
  INSTANCE_STATUS_STOPPED: STOPPED,
  INSTANCE_STATUS_ERRORED: ERRORED,
  INSTANCE_STATUS_WAITING_RESTART: WAITING_RESTART,
} = InstanceStatus;

/** The legal moves; the diagram above, as data. */
const LEGAL: ReadonlyMap<InstanceStatus, readonly InstanceStatus[]> = new Map([
  [LAUNCHING, [ONLINE, STOPPING, STOPPED, ERRORED, WAITING_RESTART]],
  [ONLINE, [STOPPING, WAITING_RESTART, STOPPED, ERRORED]],
  [STOPPING, [STOPPED]],
  [WAITING_RESTART, [LAUNCHING, STOPPED, STOPPING]],
  [STOPPED, [LAUNCHING]],
  [ERRORED, [LAUNCHING, STOPPED]],
]);

/** The statuses an instance can be in (UNSPECIFIED, UNKNOWN are wire-only). */
export const LIFECYCLE_STATUSES: readonly InstanceStatus[] = [...LEGAL.keys()];

export const DEFAULT_MAX_EVENTS = 20;

/** `INSTANCE_STATUS_WAITING_RESTART` -> `waiting-restart`, as shown to people. */
export function statusLabel(status: InstanceStatus): string {
  return status.replace(/^INSTANCE_STATUS_/, '').toLowerCase().replace(/_/g, '-');
}

/** A move the diagram forbids: a bug in the caller, never a user error. */
export class IllegalTransitionError extends Error {
  constructor(
    readonly from: InstanceStatus,
    readonly to: InstanceStatus,
    readonly reason: string,
    readonly label?: string,
  ) {
    super(
      `${label ? `${label}: ` : ''}illegal instance transition ` +
        `${statusLabel(from)} -> ${statusLabel(to)} (${reason})`,
    );
    this.name = 'IllegalTransitionError';
  }
}

export class InstanceLifecycle {
  private current: InstanceStatus;
  private changedAt: number;
  private readonly history: InstanceEvent[] = [];

  /**
   * @param now the clock; read once per transition, and once here for `since`.
   * @param initial defaults to LAUNCHING: the lifecycle is created at spawn.
   *   Creating it records no event.
   * @param maxEvents how many events `events` keeps, oldest dropped first.
   * @param onTransition called after each move, with the status already
   *   changed: where the runner persists and notifies. If it throws, the move
   *   stands and the error reaches the caller of `transition`.
   * @param label names the instance in traces and errors (`api#2`).
   */
  constructor(
    private readonly now: () => number,
    initial: InstanceStatus = LAUNCHING,
    private readonly maxEvents: number = DEFAULT_MAX_EVENTS,
    private readonly onTransition?: (e: InstanceEvent) => void,
    private readonly label?: string,
  ) {
    if (!LEGAL.has(initial)) {
      throw new RangeError(`not a lifecycle status: ${initial}`);
    }
    if (!Number.isInteger(maxEvents) || maxEvents < 0) {
      throw new RangeError(`maxEvents must be a non-negative integer, got ${maxEvents}`);
    }
    this.current = initial;
    this.changedAt = now();
  }

  get status(): InstanceStatus {
    return this.current;
  }

  /** Time of the last transition (or of creation, before any). */
  get since(): number {
    return this.changedAt;
  }

  /** The last `maxEvents` transitions, oldest first; a copy. */
  get events(): InstanceEvent[] {
    return [...this.history];
  }

  canTransition(to: InstanceStatus): boolean {
    return LEGAL.get(this.current)?.includes(to) ?? false;
  }

  /** Moves to `to` and records it; throws IllegalTransitionError when the diagram forbids it. */
  transition(to: InstanceStatus, reason: string): InstanceEvent {
    const from = this.current;
    if (!this.canTransition(to)) {
      throw new IllegalTransitionError(from, to, reason, this.label);
    }
    const event: InstanceEvent = Object.freeze({ timeMs: this.now(), from, to, reason });
    this.current = to;
    this.changedAt = event.timeMs;
    this.history.push(event);
    if (this.history.length > this.maxEvents) {
      this.history.splice(0, this.history.length - this.maxEvents);
    }
    if (tracing()) {
      process.stderr.write(
        `[fleet state] ${this.label ? `${this.label} ` : ''}` +
          `${statusLabel(from)} -> ${statusLabel(to)} (${reason})\n`,
      );
    }
    this.onTransition?.(event);
    return event;
  }
}

/** FLEET_TRACE is a comma- or space-separated list of components; read per call so tests can flip it. */
function tracing(): boolean {
  return (process.env.FLEET_TRACE ?? '').split(/[\s,]+/).includes('state');
}
