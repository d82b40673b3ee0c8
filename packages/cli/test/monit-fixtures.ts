// Builders for the monit tests: hosts and apps as the controller returns them.
import { AppInfo, type AppMetric, ExecMode, HostInfo, HostStatus, InstanceInfo, InstanceStatus, LogLine, LogStream } from '@fleet/protocol';
import type { MonitData } from '../src/monit/monit-state';

export const NOW = Date.UTC(2025, 0, 2, 3, 4, 5);
const GB = 1024 ** 3;
const MB = 1024 ** 2;

export function host(name: string, over: Partial<HostInfo> = {}): HostInfo {
  return HostInfo.fromPartial({
    name,
    status: HostStatus.HOST_STATUS_READY,
    cpus: 4,
    load1: 0.5,
    memoryTotalBytes: 8 * GB,
    memoryFreeBytes: 6 * GB,
    diskTotalBytes: 100 * GB,
    diskFreeBytes: 75 * GB,
    apps: 1,
    instances: 2,
    ...over,
  });
}

export function inst(hostName: string, app: string, instance: number, over: Partial<InstanceInfo> = {}): InstanceInfo {
  return InstanceInfo.fromPartial({
    host: hostName,
    app,
    instance,
    pid: 1000 + instance,
    status: InstanceStatus.INSTANCE_STATUS_ONLINE,
    cpuPercent: 1.5,
    memoryBytes: 40 * MB,
    restarts: 0,
    uptimeMs: 65_000,
    execMode: ExecMode.EXEC_MODE_CLUSTER,
    ...over,
  });
}

export function app(hostName: string, name: string, appId: number, instances: InstanceInfo[], metrics: AppMetric[] = []): AppInfo {
  return AppInfo.fromPartial({ host: hostName, appId, spec: { name }, desired: 'online', instances, metrics });
}

/** Three hosts running api (two instances each) and web1 a worker too. */
export function fleetData(): MonitData {
  const hosts = ['web1', 'web2', 'web3'].map((h) => host(h));
  const apps: AppInfo[] = [];
  for (const h of ['web3', 'web1', 'web2']) apps.push(app(h, 'api', 0, [inst(h, 'api', 1), inst(h, 'api', 0)]));
  apps.push(app('web1', 'worker', 1, [inst('web1', 'worker', 0)]));
  return { hosts, apps, atMs: NOW };
}

export function logLine(app: string, line: string, over: Partial<LogLine> = {}): LogLine {
  return LogLine.fromPartial({ app, instance: 0, host: 'web1', line, stream: LogStream.LOG_STREAM_OUT, timeMs: NOW, ...over });
}
