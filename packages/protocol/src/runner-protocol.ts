// The agent <-> runner protocol: one JSON object per line on a unix socket,
// shaped exactly like the proto messages (RunnerRequest / RunnerResponse).
//
// This is the runner's only view of the protocol package, and it loads no
// generated code at run time: every type is re-exported type-only, and the
// two enums the runner needs are plain objects whose keys and values the
// compiler checks against the generated enums. Loading the codec would cost
// each runner ~2 MB — paid once per app. So the runner reads and writes plain
// JSON of complete messages; the agent, which has the codec anyway, decodes
// what the runner sends with RunnerResponse.fromJSON (defaults filled in).
import type { ExecMode as GenExecMode } from './gen/fleet/v1/app';
import type { InstanceStatus as GenInstanceStatus } from './gen/fleet/v1/process';

export type {
  RunnerRequest,
  RunnerResponse,
  RunnerState,
  Hello,
  StopRequest,
  ScaleRequest,
  UpdateSpec,
} from './gen/fleet/v1/runner';
export type { AppSpec, LogSpec, RestartSpec, WatchSpec } from './gen/fleet/v1/app';
export type { InstanceInfo, InstanceEvent } from './gen/fleet/v1/process';
export { fleetPaths, runnerSocketPath, safeFileName } from './fleet-home';

type EnumMirror<E extends Record<string, string>> = { [K in keyof E]: `${E[K]}` };

const execModeValues = {
  EXEC_MODE_UNSPECIFIED: 'EXEC_MODE_UNSPECIFIED',
  EXEC_MODE_FORK: 'EXEC_MODE_FORK',
  EXEC_MODE_CLUSTER: 'EXEC_MODE_CLUSTER',
  UNRECOGNIZED: 'UNRECOGNIZED',
} as const satisfies EnumMirror<typeof GenExecMode>;

const instanceStatusValues = {
  INSTANCE_STATUS_UNSPECIFIED: 'INSTANCE_STATUS_UNSPECIFIED',
  INSTANCE_STATUS_LAUNCHING: 'INSTANCE_STATUS_LAUNCHING',
  INSTANCE_STATUS_ONLINE: 'INSTANCE_STATUS_ONLINE',
  INSTANCE_STATUS_STOPPING: 'INSTANCE_STATUS_STOPPING',
  INSTANCE_STATUS_STOPPED: 'INSTANCE_STATUS_STOPPED',
  INSTANCE_STATUS_ERRORED: 'INSTANCE_STATUS_ERRORED',
  INSTANCE_STATUS_WAITING_RESTART: 'INSTANCE_STATUS_WAITING_RESTART',
  INSTANCE_STATUS_UNKNOWN: 'INSTANCE_STATUS_UNKNOWN',
  UNRECOGNIZED: 'UNRECOGNIZED',
} as const satisfies EnumMirror<typeof GenInstanceStatus>;

/** Same keys and values as the generated enum (checked above), usable as it. */
export const ExecMode = execModeValues as unknown as typeof GenExecMode;
export type ExecMode = GenExecMode;
export const InstanceStatus = instanceStatusValues as unknown as typeof GenInstanceStatus;
export type InstanceStatus = GenInstanceStatus;

/** Bump on any change an agent or runner of the previous version could misread. */
export const RUNNER_PROTOCOL_VERSION = 1;

/** Splits a byte stream into lines; keeps the unfinished tail for the next chunk. */
export class LineDecoder {
  private tail = '';

  push(chunk: string): string[] {
    const text = this.tail + chunk;
    const lines = text.split('\n');
    this.tail = lines.pop() ?? '';
    return lines;
  }

  /** The unfinished last line, if any (a process exited without a final newline). */
  end(): string | undefined {
    const rest = this.tail;
    this.tail = '';
    return rest === '' ? undefined : rest;
  }
}
