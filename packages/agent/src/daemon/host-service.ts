// One host's apps as plain async calls: what the local daemon's embedded
// controller calls in-process and what a remote controller's commands reach
// through the agent link. No gRPC here; the host's name and `--env` are
// stamped on everything it answers.
import {
  type AppInfo,
  type HostCalls,
  type InstanceInfo,
  type LogLine,
  type LogsRequest,
  LogStream,
} from '@fleet/protocol';
import type { AppRegistry } from './app-registry';
import type { MetricsSampler } from './metrics-sampler';
import type { ReleaseHost } from '../releases/release-host';
import type { LineMark, LogStreamHandle, LogStreamRequest } from './log-stream';

/** Log reading (tails, follows, rotated .gz) is loaded by the first `logs` call: an idle daemon does not carry it. */
const streamLogs: typeof import('./log-stream').streamLogs = (req, emit) => (require('./log-stream') as typeof import('./log-stream')).streamLogs(req, emit);

export interface HostServiceDeps {
  registry: AppRegistry;
  sampler: MetricsSampler;
  host: string;
  hostEnv: Record<string, string>;
  releases: ReleaseHost;
}

export interface HostService extends HostCalls {
  /** The tail of the selected logs, then every new line until closed (from `resume` where given). */
  follow(req: LogsRequest, emit: (line: LogLine, mark?: LineMark) => void, resume?: LogStreamRequest['resume']): Promise<LogStreamHandle>;
  /** Every app, with the last CPU/memory sample (no new sampling). */
  snapshot(): AppInfo[];
  killAll(): Promise<number>;
}

/** How far back `logs --grep` looks, per file. */
const GREP_SCAN_LINES = 200_000;
/** A tail is one message to the controller: keep it well under its limit (64 MB). */
const MAX_TAIL_BYTES = 16 * 1024 * 1024;

/** The newest lines that fit in `maxBytes`, in their order. */
function newestWithin(lines: LogLine[], maxBytes: number): LogLine[] {
  let bytes = 0;
  let from = lines.length;
  while (from > 0 && bytes + lines[from - 1].line.length + 64 <= maxBytes) bytes += lines[--from].line.length + 64;
  return from === 0 ? lines : lines.slice(from);
}

export function createHostService(deps: HostServiceDeps): HostService {
  const { registry, sampler, host, hostEnv, releases } = deps;
  const withUsage = (instances: InstanceInfo[]): InstanceInfo[] =>
    instances.map((i) => {
      const u = i.pid > 0 ? sampler.usage(i.pid) : undefined;
      return { ...i, host, cpuPercent: u?.cpu ?? 0, memoryBytes: u?.memory ?? 0 };
    });
  const apps = (): AppInfo[] =>
    registry.list().map((a) => ({ ...a, host, hostEnv, instances: withUsage(a.instances) }));
  const stamp = <T extends { results: { host: string }[] }>(res: T): T => {
    for (const r of res.results) r.host = host;
    return res;
  };
  const specsOf = (target: string) => registry.resolve(target || 'all').map((r) => r.spec);

  return {
    prepareRelease: (req) => releases.prepareRelease(req),
    releaseCommand: (req) => releases.releaseCommand(req),
    activateRelease: (req) => releases.activateRelease(req),
    releaseHealth: (req) => releases.releaseHealth(req),
    snapshot: apps,
    start: async (req) => {
      const results = await registry.start(req.apps);
      await sampler.sample();
      const names = new Set(results.map((r) => r.app));
      return stamp({ results, apps: apps().filter((a) => names.has(a.spec!.name)) });
    },
    list: async (req) => {
      await sampler.refresh(req.fresh ? 0 : undefined);
      return { apps: apps() };
    },
    describe: async (req) => {
      const names = new Set(registry.resolve(req.target).map((r) => r.spec.name));
      await sampler.refresh();
      return { apps: apps().filter((a) => names.has(a.spec!.name)) };
    },
    stop: async (req) => stamp(await registry.stop(req.target)),
    restart: async (req) => stamp(await registry.restart(req.target)),
    reload: async (req) => stamp(await registry.reload(req.target)),
    delete: async (req) => stamp(await registry.delete(req.target)),
    scale: async (req) => stamp(await registry.scale(req.target, req.count)),
    flush: async (req) => stamp(await registry.flush(req.target)),
    save: async () => ({ ...registry.save(), results: [] }),
    resurrect: async () => stamp(await registry.resurrect()),
    killAll: () => registry.killAll(),
    logs: async (req) => {
      // With --grep, the last N matching lines: read further back, then keep N per file.
      const reach = req.grep ? Math.min(Math.max(req.lines * 50, 5_000), GREP_SCAN_LINES) : req.lines;
      const perFile = new Map<string, LogLine[]>();
      await streamLogs(
        { specs: specsOf(req.target), lines: reach, follow: false, stream: req.stream ?? LogStream.LOG_STREAM_UNSPECIFIED, host },
        (line) => {
          if (req.grep && !line.line.includes(req.grep)) return;
          const key = `${line.app}\0${line.instance}\0${line.stream}`;
          let list = perFile.get(key);
          if (!list) perFile.set(key, (list = []));
          list.push(line);
        },
      );
      const lines = [...perFile.values()].flatMap((l) => l.slice(-req.lines));
      return { lines: newestWithin(lines, MAX_TAIL_BYTES) };
    },
    follow: (req, emit, resume) =>
      streamLogs(
        { specs: specsOf(req.target), lines: req.lines, follow: true, stream: req.stream ?? LogStream.LOG_STREAM_UNSPECIFIED, host, resume },
        emit,
      ),
  };
}
