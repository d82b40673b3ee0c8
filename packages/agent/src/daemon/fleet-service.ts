// The Fleet gRPC service as the local daemon serves it on its unix socket.
// Handlers are thin: decode, call the registry, map errors once at the wire.
import * as os from 'node:os';
import {
  type FleetServer,
  FLEET_VERSION,
  type InstanceInfo,
  type LogLine,
  type LogsRequest,
  LogStream,
  toServiceError,
} from '@fleet/protocol';
import type { sendUnaryData, ServerUnaryCall, ServerWritableStream, ServiceError } from '@grpc/grpc-js';
import type { AppRegistry } from './app-registry';
import type { MetricsSampler } from './metrics-sampler';
import { streamLogs } from './log-stream';

export interface ServiceDeps {
  registry: AppRegistry;
  sampler: MetricsSampler;
  home: string;
  startedMs: number;
  /** `fleet kill`: called after the reply is sent. */
  onKill: () => void;
}

function unary<Req, Res>(fn: (req: Req) => Promise<Res> | Res) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    Promise.resolve()
      .then(() => fn(call.request))
      .then(
        (res) => callback(null, res),
        (err: unknown) => callback(toServiceError(err) as ServiceError),
      );
  };
}

export function createFleetService(deps: ServiceDeps): FleetServer {
  const { registry, sampler } = deps;
  const host = os.hostname();
  const withUsage = (instances: InstanceInfo[]): InstanceInfo[] =>
    instances.map((i) => {
      const u = i.pid > 0 ? sampler.usage(i.pid) : undefined;
      return { ...i, host, cpuPercent: u?.cpu ?? 0, memoryBytes: u?.memory ?? 0 };
    });
  const apps = () => registry.list().map((a) => ({ ...a, instances: withUsage(a.instances) }));

  return {
    ping: unary(() => ({ pid: process.pid, version: FLEET_VERSION, home: deps.home, startedMs: deps.startedMs, host })),
    start: unary(async (req) => {
      const results = await registry.start(req.apps);
      await sampler.sample();
      const names = new Set(results.map((r) => r.app));
      return { results, apps: apps().filter((a) => names.has(a.spec!.name)) };
    }),
    list: unary(async (req) => {
      await sampler.refresh(req.fresh ? 0 : undefined);
      return { apps: apps() };
    }),
    describe: unary(async (req) => {
      const names = new Set(registry.resolve(req.target).map((r) => r.spec.name));
      await sampler.refresh();
      return { apps: apps().filter((a) => names.has(a.spec!.name)) };
    }),
    stop: unary((req) => registry.stop(req.target)),
    restart: unary((req) => registry.restart(req.target)),
    reload: unary((req) => registry.reload(req.target)),
    delete: unary((req) => registry.delete(req.target)),
    scale: unary((req) => registry.scale(req.target, req.count)),
    flush: unary((req) => registry.flush(req.target)),
    save: unary(() => registry.save()),
    resurrect: unary(() => registry.resurrect()),
    kill: unary(async () => {
      const stoppedApps = await registry.killAll();
      setImmediate(deps.onKill);
      return { stoppedApps };
    }),
    logs: (call: ServerWritableStream<LogsRequest, LogLine>) => {
      const req = call.request;
      let specs;
      try {
        specs = registry.resolve(req.target || 'all').map((r) => r.spec);
      } catch (err) {
        // A server stream reports its status through an 'error' event.
        call.emit('error', toServiceError(err));
        return;
      }
      let closed = false;
      let handle: { close(): void } | undefined;
      const finish = (): void => {
        closed = true;
        handle?.close();
      };
      call.on('cancelled', finish);
      call.on('close', finish);
      streamLogs(
        { specs, lines: req.lines, follow: req.follow, stream: req.stream ?? LogStream.LOG_STREAM_UNSPECIFIED, host },
        (line) => {
          if (!closed) call.write(line);
        },
      ).then(
        (h) => {
          handle = h;
          if (closed) h.close();
          else if (!req.follow) call.end();
        },
        (err: unknown) => call.emit('error', toServiceError(err)),
      );
    },
  };
}
