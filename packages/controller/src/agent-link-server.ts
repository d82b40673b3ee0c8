// The controller's end of the agent link: one Connect stream per agent. The
// first message must register the host; after that heartbeats, state and log
// batches update the registry and hub, and command results go to the link.
import {
  type AgentLinkServer,
  type AgentMessage,
  type ArtifactChunk,
  type ArtifactRef,
  BadInputError,
  NotFoundError,
  type ControllerMessage,
  DeniedError,
  LINK_PROTOCOL_VERSION,
  linkVersionProblem,
  type LogBatch,
  type LogLine,
  LogStream,
  type Register,
  toServiceError,
} from '@fleet/protocol';
import * as fs from 'node:fs';
import type { ServerDuplexStream, ServerWritableStream } from '@grpc/grpc-js';
import type { ArtifactStore } from './deploy/artifact-store';
import type { Authorizer } from './authorizer';
import type { HostRegistry } from './host-registry';
import type { LogSink } from './log-hub';
import type { OpenStreams } from './open-streams';
import { type Pending, RemoteHostLink } from './remote-host-link';

export interface AgentLinkDeps {
  registry: HostRegistry;
  logs: LogSink;
  authorize: Authorizer;
  /** Links by token, ended when their token is revoked. */
  streams?: OpenStreams;
  log: (msg: string) => void;
  now?: () => number;
  /** How long an agent may take to register after connecting. */
  registerTimeoutMs?: number;
  /** Release artifacts, fetched by agents preparing a deployment. */
  artifacts?: ArtifactStore;
}

const HOST_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;

/** How long commands of a dropped link wait for the same agent to redial before they fail. */
export const RECONNECT_GRACE_MS = 15_000;

function registrationProblem(reg: Register): string | undefined {
  if (!HOST_NAME.test(reg.name)) {
    return `host name "${reg.name}" is not valid: use letters, digits, dot, dash and underscore (fleet agent --name web1)`;
  }
  if (!reg.instanceId) return 'the agent did not say which process it is (instance_id): upgrade fleet on the host';
  return linkVersionProblem(reg.protocolVersion);
}

export function createAgentLinkServer(deps: AgentLinkDeps): AgentLinkServer {
  const now = deps.now ?? Date.now;
  // Links that dropped with commands in flight, by host, until their agent redials.
  const orphans = new Map<string, { instanceId: string; link: RemoteHostLink; timer: NodeJS.Timeout }>();
  const carryOver = (name: string, instanceId: string): Map<string, Pending> | undefined => {
    const orphan = orphans.get(name);
    if (orphan) {
      orphans.delete(name);
      clearTimeout(orphan.timer);
      if (orphan.instanceId === instanceId) return orphan.link.takePending();
      orphan.link.close('the agent restarted before answering');
    }
    // The same agent redialled before its old stream was seen to close.
    const prev = deps.registry.get(name);
    if (prev?.link instanceof RemoteHostLink && prev.instanceId === instanceId) return prev.link.takePending();
    return undefined;
  };
  return {
    // Streamed from disk in 256 KB chunks; the agent checks the digest on its side.
    fetchArtifact(call: ServerWritableStream<ArtifactRef, ArtifactChunk>): void {
      let file: string;
      try {
        deps.authorize(call.metadata, '/fleet.v1.AgentLink/FetchArtifact');
        if (!deps.artifacts) throw new NotFoundError('this controller keeps no artifacts');
        file = deps.artifacts.fileOf(call.request.digest);
      } catch (err) {
        call.emit('error', toServiceError(err));
        return;
      }
      const input = fs.createReadStream(file, { highWaterMark: 256 * 1024 });
      call.on('cancelled', () => input.destroy());
      input.on('error', (err) => call.emit('error', toServiceError(err)));
      input.on('data', (data) => {
        if (!call.write({ data: data as Buffer })) {
          input.pause();
          call.once('drain', () => input.resume());
        }
      });
      input.on('end', () => call.end());
    },
    connect(stream: ServerDuplexStream<AgentMessage, ControllerMessage>): void {
      const fail = (err: unknown): void => {
        stream.emit('error', toServiceError(err));
      };
      let tokenId: string;
      let boundHost: string | undefined;
      try {
        const caller = deps.authorize(stream.metadata, '/fleet.v1.AgentLink/Connect');
        tokenId = caller.tokenId;
        // `fleet token create --role agent --name web1`: that token registers web1 and nothing else.
        boundHost = caller.tokenName && HOST_NAME.test(caller.tokenName) ? caller.tokenName : undefined;
      } catch (err) {
        fail(err);
        return;
      }
      const untrack = deps.streams?.track(tokenId, (reason) => fail(new DeniedError(`the controller ended this agent's link: ${reason}`, {
        hint: 'give the agent a new token: fleet token create --role agent',
      })));
      let name: string | undefined;
      let link: RemoteHostLink | undefined;
      const registerTimer = setTimeout(
        () => fail(new BadInputError('the agent did not register in time')),
        deps.registerTimeoutMs ?? 10_000,
      );
      const send = (msg: ControllerMessage): void => {
        if (!stream.writableEnded && !stream.destroyed) stream.write(msg);
      };

      stream.on('data', (msg: AgentMessage) => {
        if (!link) {
          if (!msg.register) {
            fail(new BadInputError('the agent sent data before registering'));
            return;
          }
          clearTimeout(registerTimer);
          const reg = msg.register;
          const problem =
            registrationProblem(reg) ??
            (boundHost && reg.name !== boundHost
              ? `this agent token belongs to host ${boundHost}; it cannot register as ${reg.name}`
              : undefined);
          if (problem) {
            deps.log(`refused agent at ${stream.getPeer()}: ${problem}`);
            fail(new BadInputError(problem, { host: reg.name }));
            return;
          }
          const candidate = new RemoteHostLink(reg.name, send, () => stream.end());
          const prev = deps.registry.get(reg.name);
          const sameAgent = !prev?.link || prev.instanceId === reg.instanceId;
          const carried = sameAgent ? carryOver(reg.name, reg.instanceId) : undefined;
          try {
            deps.registry.attach(reg, candidate, stream.getPeer());
          } catch (err) {
            deps.log(`refused agent ${reg.name} at ${stream.getPeer()}: ${(err as Error).message}`);
            fail(err);
            return;
          }
          name = reg.name;
          link = candidate;
          deps.log(`host ${name} connected from ${stream.getPeer()} (agent ${reg.agentVersion}, link protocol ${reg.protocolVersion})`);
          send({
            registered: {
              protocolVersion: LINK_PROTOCOL_VERSION,
              heartbeatIntervalMs: deps.registry.policy.heartbeatMs,
              timeMs: now(),
            },
          });
          if (carried?.size) {
            deps.log(`host ${name}: sending ${carried.size} unanswered command(s) again`);
            candidate.adopt(carried);
          }
          return;
        }
        const host = name!;
        // A stream replaced by a newer link of the same agent says nothing any more.
        if (deps.registry.get(host)?.link !== link) return;
        if (msg.heartbeat) deps.registry.heartbeat(host, msg.heartbeat);
        if (msg.snapshot) deps.registry.snapshot(host, msg.snapshot.apps);
        if (msg.delta) deps.registry.delta(host, msg.delta);
        if (msg.logs) takeLogs(deps, host, link, msg.logs, now());
        if (msg.result) link.onResult(msg.result);
      });

      const closed = (why: string): void => {
        clearTimeout(registerTimer);
        untrack?.();
        if (!link || !name) return;
        const l = link;
        link = undefined;
        const instanceId = deps.registry.get(name)?.link === l ? deps.registry.get(name)?.instanceId : undefined;
        if (instanceId) {
          // Commands in flight wait a while for the same agent process to redial.
          l.close(why, true);
          const host = name;
          const timer = setTimeout(() => {
            orphans.delete(host);
            l.close(why);
          }, RECONNECT_GRACE_MS);
          timer.unref();
          orphans.get(host)?.link.close(why);
          orphans.set(host, { instanceId, link: l, timer });
        } else {
          l.close(why);
        }
        deps.registry.detach(name, l, `link lost: ${why}`);
        deps.log(`host ${name} disconnected: ${why}`);
      };
      stream.on('end', () => {
        closed('the link closed (agent stopped or its connection dropped)');
        stream.end();
      });
      stream.on('error', (err: Error) => closed(err.message));
      stream.on('cancelled', () => closed('the agent went away'));
      stream.on('close', () => closed('the link closed'));
    },
  };
}

/** Publishes a batch once (the agent resends unacknowledged ones after a reconnect) and acknowledges it. */
function takeLogs(deps: AgentLinkDeps, host: string, link: RemoteHostLink, batch: LogBatch, now: number): void {
  const entry = deps.registry.get(host);
  // A stream already replaced by a newer link of the agent: the new one resends.
  if (!entry || entry.link !== link || !entry.instanceId) return;
  const last = entry.logSeq?.instanceId === entry.instanceId ? entry.logSeq.seq : 0;
  if (batch.seq === 0 || batch.seq > last) {
    deps.logs.publish(stampLines(host, batch.lines, batch.dropped, now));
    if (batch.seq > 0) entry.logSeq = { instanceId: entry.instanceId, seq: batch.seq };
  }
  link.ack(batch.seq);
}

/** The host is the link's, whatever the agent wrote; drops become a visible line. */
function stampLines(host: string, lines: LogLine[], dropped: number, now: number): LogLine[] {
  const out = lines.map((l) => ({ ...l, host }));
  if (dropped > 0) {
    // Before the batch: the agent dropped its oldest lines.
    out.unshift({
      app: '',
      instance: 0,
      stream: LogStream.LOG_STREAM_ERR,
      line: `[fleet] ${dropped} log lines from ${host} were dropped: its buffer was full while the controller was unreachable`,
      timeMs: now,
      host,
      dropped,
    });
  }
  return out;
}
