// What a controller can ask of one host: a Fleet method, its request and its
// response message. The agent link carries these encoded (Command.request,
// CommandResult.response), so one table serves both ends and a new method
// needs no new link message.
import { LogTail } from './gen/fleet/v1/agent_link';
import {
  ActionResponse,
  DescribeResponse,
  ListRequest,
  ListResponse,
  LogsRequest,
  ResurrectRequest,
  SaveRequest,
  SaveResponse,
  ScaleAppRequest,
  StartRequest,
  StartResponse,
  TargetRequest,
} from './gen/fleet/v1/fleet';
import {
  ActivateReleaseRequest,
  ActivateReleaseResponse,
  PrepareReleaseRequest,
  PrepareReleaseResponse,
  ReleaseCommandRequest,
  ReleaseCommandResponse,
  ReleaseHealthRequest,
  ReleaseHealthResponse,
} from './gen/fleet/v1/release';

interface Codec<T> {
  encode(message: T): { finish(): Uint8Array };
  decode(input: Uint8Array): T;
}

function call<Req, Res>(request: Codec<Req>, response: Codec<Res>): { request: Codec<Req>; response: Codec<Res> } {
  return { request, response };
}

export const HOST_CALLS = {
  start: call(StartRequest, StartResponse),
  list: call(ListRequest, ListResponse),
  describe: call(TargetRequest, DescribeResponse),
  stop: call(TargetRequest, ActionResponse),
  restart: call(TargetRequest, ActionResponse),
  reload: call(TargetRequest, ActionResponse),
  delete: call(TargetRequest, ActionResponse),
  scale: call(ScaleAppRequest, ActionResponse),
  flush: call(TargetRequest, ActionResponse),
  save: call(SaveRequest, SaveResponse),
  resurrect: call(ResurrectRequest, ActionResponse),
  // Not the Fleet stream: the tail only; followed lines come as log batches.
  logs: call(LogsRequest, LogTail),
  // Deploys: fetch and unpack a release, run its release command, switch onto it, report its health.
  prepareRelease: call(PrepareReleaseRequest, PrepareReleaseResponse),
  releaseCommand: call(ReleaseCommandRequest, ReleaseCommandResponse),
  activateRelease: call(ActivateReleaseRequest, ActivateReleaseResponse),
  releaseHealth: call(ReleaseHealthRequest, ReleaseHealthResponse),
};

export type HostMethod = keyof typeof HOST_CALLS;
export type HostRequest<M extends HostMethod> = ReturnType<(typeof HOST_CALLS)[M]['request']['decode']>;
export type HostResponse<M extends HostMethod> = ReturnType<(typeof HOST_CALLS)[M]['response']['decode']>;

/** One host's side of the calls, as plain promises: the agent implements it, links carry it. */
export type HostCalls = { [M in HostMethod]: (req: HostRequest<M>) => Promise<HostResponse<M>> };

export function isHostMethod(name: string): name is HostMethod {
  return Object.prototype.hasOwnProperty.call(HOST_CALLS, name);
}
