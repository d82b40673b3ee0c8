// Wire enums as the words people and scripts use (PM2's vocabulary).
import { ExecMode, InstanceStatus, LogStream } from '@fleet/protocol';
import type { Colors } from './color';

export type StatusWord =
  | 'launching'
  | 'online'
  | 'stopping'
  | 'stopped'
  | 'errored'
  | 'waiting-restart'
  | 'unknown';

export function statusWord(status: InstanceStatus): StatusWord {
  switch (status) {
    case InstanceStatus.INSTANCE_STATUS_LAUNCHING:
      return 'launching';
    case InstanceStatus.INSTANCE_STATUS_ONLINE:
      return 'online';
    case InstanceStatus.INSTANCE_STATUS_STOPPING:
      return 'stopping';
    case InstanceStatus.INSTANCE_STATUS_STOPPED:
      return 'stopped';
    case InstanceStatus.INSTANCE_STATUS_ERRORED:
      return 'errored';
    case InstanceStatus.INSTANCE_STATUS_WAITING_RESTART:
      return 'waiting-restart';
    default:
      return 'unknown';
  }
}

export function colorStatus(word: StatusWord, colors: Colors): string {
  switch (word) {
    case 'online':
      return colors.green(word);
    case 'errored':
      return colors.red(word);
    case 'launching':
    case 'stopping':
    case 'waiting-restart':
      return colors.yellow(word);
    default:
      return colors.gray(word);
  }
}

export type ExecModeWord = 'fork' | 'cluster';

export function execModeWord(mode: ExecMode | undefined): ExecModeWord {
  return mode === ExecMode.EXEC_MODE_CLUSTER ? 'cluster' : 'fork';
}

/** An instance's own mode when the wire carries one, else its app's. */
export function instanceExecMode(instance: ExecMode, app: ExecMode | undefined): ExecModeWord {
  return execModeWord(instance !== ExecMode.EXEC_MODE_UNSPECIFIED ? instance : app);
}

export type StreamWord = 'out' | 'err';

export function streamWord(stream: LogStream): StreamWord {
  return stream === LogStream.LOG_STREAM_ERR ? 'err' : 'out';
}
