// How the controller reaches one host: in-process for the local daemon's own
// host, over the agent's Connect stream for a remote one.
import type { HostMethod, HostRequest, HostResponse, LogLine, LogsRequest } from '@fleet/protocol';

export interface FollowHandle {
  close(): void;
}

export interface HostLink {
  /** `timeoutMs`: for calls known to take long (a release's install); a remote link has a default. */
  call<M extends HostMethod>(method: M, req: HostRequest<M>, opts?: { timeoutMs?: number }): Promise<HostResponse<M>>;
  /**
   * Follows logs at the source. Only the in-process link has it; a remote
   * host's lines reach the controller as log batches and are followed there.
   */
  follow?(req: LogsRequest, emit: (line: LogLine) => void): Promise<FollowHandle>;
  /** Drops the link (a newer link of the same agent replaced it, or it went silent). */
  close(reason: string): void;
}
