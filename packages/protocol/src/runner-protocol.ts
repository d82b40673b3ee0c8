// The agent <-> runner protocol: one JSON-encoded RunnerRequest/RunnerResponse
// per line on a unix socket. Imported by the runner, so it must stay free of
// gRPC and anything heavy: the runner's memory is paid once per app.
export {
  RunnerRequest,
  RunnerResponse,
  RunnerState,
  Hello,
  StopRequest,
  ScaleRequest,
  UpdateSpec,
} from './gen/fleet/v1/runner';
export { AppSpec, ExecMode, LogSpec, RestartSpec, WatchSpec } from './gen/fleet/v1/app';
export { InstanceStatus, InstanceInfo, InstanceEvent } from './gen/fleet/v1/process';
export { fleetPaths, runnerSocketPath, safeFileName } from './fleet-home';

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
