// The words `fleet hosts` shows for a host's status; shared by the controller's
// messages and the CLI's table.
import { HostStatus } from './gen/fleet/v1/host';

const STATUS_WORD: Partial<Record<HostStatus, string>> = {
  [HostStatus.HOST_STATUS_READY]: 'ready',
  [HostStatus.HOST_STATUS_DISCONNECTED]: 'disconnected',
  [HostStatus.HOST_STATUS_DOWN]: 'down',
};

export function hostStatusWord(s: HostStatus): string {
  return STATUS_WORD[s] ?? 'unknown';
}
