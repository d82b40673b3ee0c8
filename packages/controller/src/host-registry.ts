// Every host the controller knows: who it is, its status, its link and the
// last state its agent reported. Time comes from an injected clock and moves
// only through tick(), so status changes are exact in tests.
import {
  type AppInfo,
  ConflictError,
  describeSelector,
  type Heartbeat,
  HostInfo,
  type HostSelector,
  HostStatus,
  InstanceStatus,
  isEmptySelector,
  matchesLabels,
  NotFoundError,
  type Register,
  type StateDelta,
} from '@fleet/protocol';
import type { HostLink } from './host-link';
import { DEFAULT_STATUS_POLICY, type HostStatusPolicy, skewProblem, statusAt } from './host-status';

export interface HostEntry {
  info: HostInfo;
  apps: Map<string, AppInfo>;
  link?: HostLink;
  /** The agent process holding the link; a different one claiming the name is refused. */
  instanceId?: string;
  /** The last log batch taken from an agent process: a batch sent again after a reconnect is skipped. */
  logSeq?: { instanceId: string; seq: number };
}

export interface PersistedHost {
  info: HostInfo;
  apps: AppInfo[];
}

export interface HostRegistryOptions {
  now?: () => number;
  policy?: HostStatusPolicy;
  /** Something a user would see changed: the host itself, or only its apps' reports. */
  onChange?: (name: string, kind: 'host' | 'apps') => void;
}

export class HostRegistry {
  private readonly hosts = new Map<string, HostEntry>();
  private readonly now: () => number;
  readonly policy: HostStatusPolicy;

  constructor(private readonly opts: HostRegistryOptions = {}) {
    this.now = opts.now ?? Date.now;
    this.policy = opts.policy ?? DEFAULT_STATUS_POLICY;
  }

  /** Hosts from disk after a controller restart: known, not connected. */
  load(hosts: PersistedHost[]): void {
    const now = this.now();
    for (const h of hosts) {
      const info: HostInfo = {
        ...h.info,
        // Whatever it was, nobody is linked now; its clock for down starts at its last sighting.
        status: h.info.status === HostStatus.HOST_STATUS_DOWN ? HostStatus.HOST_STATUS_DOWN : HostStatus.HOST_STATUS_DISCONNECTED,
        statusSinceMs: h.info.status === HostStatus.HOST_STATUS_DOWN ? h.info.statusSinceMs : Math.min(now, h.info.lastSeenMs || now),
        problem: 'waiting for its agent to reconnect after a controller restart',
      };
      this.hosts.set(info.name, { info, apps: new Map(h.apps.map((a) => [a.spec?.name ?? '', a])) });
    }
  }

  persisted(): PersistedHost[] {
    return [...this.hosts.values()].map((e) => ({ info: e.info, apps: [...e.apps.values()] }));
  }

  get(name: string): HostEntry | undefined {
    return this.hosts.get(name);
  }

  all(): HostEntry[] {
    // Plain code-unit order (host names are ASCII); localeCompare would load ICU's collator.
    return [...this.hosts.values()].sort((a, b) => (a.info.name < b.info.name ? -1 : a.info.name > b.info.name ? 1 : 0));
  }

  /** An agent registered on a new link. Refuses a second live agent under the same name. */
  attach(reg: Register, link: HostLink, address: string): HostEntry {
    const now = this.now();
    const existing = this.hosts.get(reg.name);
    if (existing?.link && existing.instanceId !== reg.instanceId) {
      throw new ConflictError(
        `host name "${reg.name}" is taken by a connected agent (${existing.info.address || 'unknown address'})`,
        {
          host: reg.name,
          hint: `give this agent another --name, or stop the agent already running as ${reg.name}`,
        },
      );
    }
    // The same agent reconnecting before its old stream was seen to close.
    existing?.link?.close('replaced by a newer link of the same agent');
    const entry: HostEntry = existing ?? { info: HostInfo.fromPartial({ name: reg.name }), apps: new Map() };
    entry.link = link;
    entry.instanceId = reg.instanceId;
    entry.info = {
      ...entry.info,
      labels: reg.labels,
      status: HostStatus.HOST_STATUS_READY,
      statusSinceMs: now,
      lastSeenMs: now,
      agentVersion: reg.agentVersion,
      protocolVersion: reg.protocolVersion,
      os: reg.os,
      cpus: reg.cpus,
      memoryTotalBytes: reg.memoryTotalBytes,
      env: reg.env,
      address,
      clockSkewMs: reg.timeMs ? reg.timeMs - now : 0,
      problem: '',
    };
    entry.info.problem = skewProblem(reg.name, entry.info.clockSkewMs);
    this.hosts.set(reg.name, entry);
    this.changed(reg.name);
    return entry;
  }

  /** The link ended. A stale link (already replaced) changes nothing. */
  detach(name: string, link: HostLink, why: string): void {
    const entry = this.hosts.get(name);
    if (!entry || entry.link !== link) return;
    entry.link = undefined;
    entry.instanceId = undefined;
    this.setStatus(entry, HostStatus.HOST_STATUS_DISCONNECTED, why);
  }

  heartbeat(name: string, hb: Heartbeat): void {
    const entry = this.hosts.get(name);
    if (!entry) return;
    const now = this.now();
    entry.info.lastSeenMs = now;
    entry.info.load1 = hb.load1;
    entry.info.memoryFreeBytes = hb.memoryFreeBytes;
    entry.info.diskFreeBytes = hb.diskFreeBytes;
    entry.info.diskTotalBytes = hb.diskTotalBytes;
    entry.info.clockSkewMs = hb.timeMs ? hb.timeMs - now : 0;
    if (entry.info.status === HostStatus.HOST_STATUS_READY) entry.info.problem = skewProblem(name, entry.info.clockSkewMs);
  }

  snapshot(name: string, apps: AppInfo[]): void {
    const entry = this.hosts.get(name);
    if (!entry) return;
    entry.apps = new Map(apps.map((a) => [a.spec?.name ?? '', a]));
    entry.info.lastSeenMs = this.now();
    this.changed(name, 'apps');
  }

  delta(name: string, delta: StateDelta): void {
    const entry = this.hosts.get(name);
    if (!entry) return;
    for (const app of delta.changed) entry.apps.set(app.spec?.name ?? '', app);
    for (const gone of delta.removed) entry.apps.delete(gone);
    entry.info.lastSeenMs = this.now();
    this.changed(name, 'apps');
  }

  /** Drops a host that is not connected; returns what it was. */
  forget(name: string): HostInfo {
    const entry = this.hosts.get(name);
    if (!entry) {
      throw new NotFoundError(`unknown host ${name}`, { host: name, hint: 'see the hosts with `fleet hosts`' });
    }
    if (entry.link) {
      throw new ConflictError(`${name} is connected: its agent would register it again`, {
        host: name,
        hint: `stop the agent on ${name} first (systemctl stop fleet-agent), then forget it`,
      });
    }
    this.hosts.delete(name);
    this.changed(name);
    return entry.info;
  }

  /** Applies the passing of time: missed heartbeats, long disconnections. */
  tick(): void {
    const now = this.now();
    for (const entry of this.hosts.values()) {
      const next = statusAt(entry.info, now, this.policy);
      if (next === entry.info.status) continue;
      if (next === HostStatus.HOST_STATUS_DISCONNECTED) {
        const secs = Math.round((now - entry.info.lastSeenMs) / 1000);
        const link = entry.link;
        entry.link = undefined;
        entry.instanceId = undefined;
        link?.close(`no heartbeat for ${secs} s`);
        this.setStatus(entry, next, `no heartbeat for ${secs} s: the host or its network is down, or the agent is stuck`);
      } else {
        this.setStatus(entry, next, `disconnected for more than ${Math.round(this.policy.downAfterMs / 1000)} s`);
      }
    }
  }

  /**
   * The hosts a selector names. Unknown names and selectors matching nothing
   * are errors, so a typo never silently acts on no host.
   */
  select(where: HostSelector | undefined): HostEntry[] {
    const all = this.all();
    if (isEmptySelector(where)) return all;
    const { hosts: names, labels } = where!;
    if (names.length > 0) {
      const unknown = names.filter((n) => !this.hosts.has(n));
      if (unknown.length > 0) {
        throw new NotFoundError(`unknown host${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')}`, {
          host: unknown[0],
          hint: all.length > 0 ? `known hosts: ${all.map((e) => e.info.name).join(', ')} (see \`fleet hosts\`)` : 'no agent has registered yet: start `fleet agent --controller …` on a server',
        });
      }
    }
    const picked = all.filter(
      (e) => (names.length === 0 || names.includes(e.info.name)) && matchesLabels(e.info.labels, labels),
    );
    if (picked.length === 0) {
      throw new NotFoundError(`no host matches ${describeSelector(where)}`, {
        hint: 'see the hosts and their labels with `fleet hosts`',
      });
    }
    return picked;
  }

  /** The host as `fleet hosts` shows it. */
  view(entry: HostEntry): HostInfo {
    const apps = [...entry.apps.values()];
    return {
      ...entry.info,
      apps: apps.length,
      instances: apps.reduce((n, a) => n + a.instances.length, 0),
    };
  }

  /** The host's apps as last reported; instances of an unreachable host are `unknown`, not gone. */
  appsOf(entry: HostEntry): AppInfo[] {
    const reachable = entry.info.status === HostStatus.HOST_STATUS_READY;
    const host = entry.info.name;
    const now = this.now();
    const skew = entry.info.clockSkewMs;
    return [...entry.apps.values()].map((a) => ({
      ...a,
      host,
      instances: a.instances.map((i) =>
        reachable
          ? // Agents leave uptime out of their deltas (it changes every millisecond).
            // startedMs is on the agent's clock: skew = agent − controller.
            { ...i, host, uptimeMs: i.status === InstanceStatus.INSTANCE_STATUS_ONLINE && i.startedMs > 0 ? Math.max(0, now - (i.startedMs - skew)) : 0 }
          : { ...i, host, status: InstanceStatus.INSTANCE_STATUS_UNKNOWN, cpuPercent: 0, uptimeMs: 0 },
      ),
    }));
  }

  private setStatus(entry: HostEntry, status: HostStatus, problem: string): void {
    entry.info.status = status;
    entry.info.statusSinceMs = this.now();
    entry.info.problem = problem;
    this.changed(entry.info.name);
  }

  private changed(name: string, kind: 'host' | 'apps' = 'host'): void {
    this.opts.onChange?.(name, kind);
  }
}
