// The daemon's Fleet service as promises. Every unary call has a deadline so a
// hung daemon never hangs the CLI; calls that wait for apps to become ready
// (start, restart, reload, ...) get a generous one.
import { credentials, type ChannelCredentials, Metadata, type CallOptions, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js';
import {
  FleetClient,
  fromServiceError,
  type ActionResponse,
  type CreateTokenRequest,
  type CreateTokenResponse,
  type ForgetHostRequest,
  type HostsRequest,
  type HostsResponse,
  type ListTokensResponse,
  type ResurrectRequest,
  type RevokeTokenRequest,
  type RevokeTokenResponse,
  type SaveRequest,
  type DescribeResponse,
  type KillResponse,
  type ListRequest,
  type ListResponse,
  type LogLine,
  type LogsRequest,
  type PingResponse,
  type SaveResponse,
  type ScaleAppRequest,
  type StartRequest,
  type StartResponse,
  type TargetRequest,
  type ArtifactChunk,
  type ArtifactPresence,
  type ArtifactRef,
  type ControlDeploymentRequest,
  type Deployment,
  type DeploymentsRequest,
  type DeploymentsResponse,
  type DeployRequest,
  type DeployResponse,
  type ReleasesRequest,
  type ReleasesResponse,
  type RollbackRequest,
} from '@fleet/protocol';

export const SHORT_DEADLINE_MS = 30_000;
/** Start, reload and friends wait for instances to be ready, wait_ready and listen_timeout included. */
export const LONG_DEADLINE_MS = 10 * 60_000;

export interface FleetApi {
  ping(deadlineMs?: number): Promise<PingResponse>;
  start(req: StartRequest): Promise<StartResponse>;
  list(req: ListRequest): Promise<ListResponse>;
  describe(req: TargetRequest): Promise<DescribeResponse>;
  stop(req: TargetRequest): Promise<ActionResponse>;
  restart(req: TargetRequest): Promise<ActionResponse>;
  reload(req: TargetRequest): Promise<ActionResponse>;
  delete(req: TargetRequest): Promise<ActionResponse>;
  scale(req: ScaleAppRequest): Promise<ActionResponse>;
  flush(req: TargetRequest): Promise<ActionResponse>;
  logs(req: LogsRequest): ClientReadableStream<LogLine>;
  save(req?: SaveRequest): Promise<SaveResponse>;
  resurrect(req?: ResurrectRequest): Promise<ActionResponse>;
  kill(): Promise<KillResponse>;
  hosts(req: HostsRequest): Promise<HostsResponse>;
  forgetHost(req: ForgetHostRequest): Promise<HostsResponse>;
  createToken(req: CreateTokenRequest): Promise<CreateTokenResponse>;
  revokeToken(req: RevokeTokenRequest): Promise<RevokeTokenResponse>;
  listTokens(): Promise<ListTokensResponse>;
  hasArtifact(req: ArtifactRef): Promise<ArtifactPresence>;
  /** Streams the chunks (the first naming the artifact) and resolves with the controller's answer. */
  uploadArtifact(chunks: AsyncIterable<ArtifactChunk>): Promise<ArtifactPresence>;
  deploy(req: DeployRequest): Promise<DeployResponse>;
  deployments(req: DeploymentsRequest): Promise<DeploymentsResponse>;
  watchDeployment(id: string): ClientReadableStream<Deployment>;
  controlDeployment(req: ControlDeploymentRequest): Promise<DeployResponse>;
  releases(req: ReleasesRequest): Promise<ReleasesResponse>;
  rollback(req: RollbackRequest): Promise<DeployResponse>;
  close(): void;
}

/**
 * A raw client for the daemon socket. Reconnect backoff is kept short: grpc-js
 * fails calls fast while it waits to reconnect (1 s by default), which would
 * stall the start-up poll long after the daemon is listening.
 */
export function createRawClient(socketPath: string): FleetClient {
  return new FleetClient(`unix:${socketPath}`, credentials.createInsecure(), {
    'grpc.initial_reconnect_backoff_ms': 50,
    'grpc.max_reconnect_backoff_ms': 250,
    // A fresh subchannel per client: one in backoff from a failed ping must not be reused.
    'grpc.use_local_subchannel_pool': 1,
  });
}

/** A client for a controller over TCP: TLS (or plaintext where allowed) and a bearer token. */
export function createControllerClient(address: string, creds: ChannelCredentials): FleetClient {
  return new FleetClient(address, creds, {
    'grpc.initial_reconnect_backoff_ms': 200,
    'grpc.max_reconnect_backoff_ms': 1000,
    // `fleet ls` of a large fleet is one message (grpc's default limit is 4 MB).
    'grpc.max_receive_message_length': 64 * 1024 * 1024,
  });
}

type Unary<Req, Res> = (
  req: Req,
  metadata: Metadata,
  options: Partial<CallOptions>,
  cb: (err: ServiceError | null, res: Res) => void,
) => unknown;

function metadataWith(token: string | undefined): Metadata {
  const md = new Metadata();
  if (token) md.set('authorization', `Bearer ${token}`);
  return md;
}

function callWith<Req, Res>(client: FleetClient, method: Unary<Req, Res>, req: Req, deadlineMs: number, token?: string): Promise<Res> {
  return new Promise<Res>((resolve, reject) => {
    method.call(client, req, metadataWith(token), { deadline: Date.now() + deadlineMs }, (err, res) => {
      if (err) reject(fromServiceError(err));
      else resolve(res);
    });
  });
}

export function wrapClient(client: FleetClient, token?: string): FleetApi {
  const c = client;
  const call = <Req, Res>(cl: FleetClient, method: Unary<Req, Res>, req: Req, deadlineMs: number): Promise<Res> =>
    callWith(cl, method, req, deadlineMs, token);
  return {
    ping: (deadlineMs = SHORT_DEADLINE_MS) => call(c, c.ping as Unary<object, PingResponse>, {}, deadlineMs),
    start: (req) => call(c, c.start as Unary<StartRequest, StartResponse>, req, LONG_DEADLINE_MS),
    list: (req) => call(c, c.list as Unary<ListRequest, ListResponse>, req, SHORT_DEADLINE_MS),
    describe: (req) => call(c, c.describe as Unary<TargetRequest, DescribeResponse>, req, SHORT_DEADLINE_MS),
    stop: (req) => call(c, c.stop as Unary<TargetRequest, ActionResponse>, req, LONG_DEADLINE_MS),
    restart: (req) => call(c, c.restart as Unary<TargetRequest, ActionResponse>, req, LONG_DEADLINE_MS),
    reload: (req) => call(c, c.reload as Unary<TargetRequest, ActionResponse>, req, LONG_DEADLINE_MS),
    delete: (req) => call(c, c.delete as Unary<TargetRequest, ActionResponse>, req, LONG_DEADLINE_MS),
    scale: (req) => call(c, c.scale as Unary<ScaleAppRequest, ActionResponse>, req, LONG_DEADLINE_MS),
    flush: (req) => call(c, c.flush as Unary<TargetRequest, ActionResponse>, req, SHORT_DEADLINE_MS),
    logs: (req) => c.logs(req, metadataWith(token)),
    save: (req = {}) => call(c, c.save as Unary<SaveRequest, SaveResponse>, req, SHORT_DEADLINE_MS),
    resurrect: (req = {}) => call(c, c.resurrect as Unary<ResurrectRequest, ActionResponse>, req, LONG_DEADLINE_MS),
    hosts: (req) => call(c, c.hosts as Unary<HostsRequest, HostsResponse>, req, SHORT_DEADLINE_MS),
    forgetHost: (req) => call(c, c.forgetHost as Unary<ForgetHostRequest, HostsResponse>, req, SHORT_DEADLINE_MS),
    createToken: (req) => call(c, c.createToken as Unary<CreateTokenRequest, CreateTokenResponse>, req, SHORT_DEADLINE_MS),
    revokeToken: (req) => call(c, c.revokeToken as Unary<RevokeTokenRequest, RevokeTokenResponse>, req, SHORT_DEADLINE_MS),
    listTokens: () => call(c, c.listTokens as Unary<object, ListTokensResponse>, {}, SHORT_DEADLINE_MS),
    kill: () => call(c, c.kill as Unary<object, KillResponse>, {}, LONG_DEADLINE_MS),
    hasArtifact: (req) => call(c, c.hasArtifact as Unary<ArtifactRef, ArtifactPresence>, req, SHORT_DEADLINE_MS),
    uploadArtifact: (chunks) =>
      new Promise<ArtifactPresence>((resolve, reject) => {
        const stream = c.uploadArtifact(metadataWith(token), { deadline: Date.now() + LONG_DEADLINE_MS }, (err, res) => (err ? reject(fromServiceError(err)) : resolve(res)));
        (async () => {
          for await (const chunk of chunks) {
            if (!stream.write(chunk)) await new Promise((r) => stream.once('drain', r));
          }
          stream.end();
        })().catch((err: Error) => {
          stream.cancel();
          reject(err);
        });
      }),
    deploy: (req) => call(c, c.deploy as Unary<DeployRequest, DeployResponse>, req, SHORT_DEADLINE_MS),
    deployments: (req) => call(c, c.deployments as Unary<DeploymentsRequest, DeploymentsResponse>, req, SHORT_DEADLINE_MS),
    watchDeployment: (id) => c.watchDeployment({ id }, metadataWith(token)),
    controlDeployment: (req) => call(c, c.controlDeployment as Unary<ControlDeploymentRequest, DeployResponse>, req, SHORT_DEADLINE_MS),
    releases: (req) => call(c, c.releases as Unary<ReleasesRequest, ReleasesResponse>, req, SHORT_DEADLINE_MS),
    rollback: (req) => call(c, c.rollback as Unary<RollbackRequest, DeployResponse>, req, SHORT_DEADLINE_MS),
    close: () => c.close(),
  };
}
