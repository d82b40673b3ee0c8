// Gathers what the metrics endpoints show from a HostRegistry (and the
// release book, when deploys are run here). Remote hosts are as their agents
// last reported; the in-process host of the local daemon (a link with
// `follow`) is asked now, as the Fleet service's List does, since its entry's
// apps are not kept fresh.
import type { AppInfo, Deployment } from '@fleet/protocol';
import type { HostEntry, HostRegistry } from '../host-registry';
import type { FleetSnapshot } from './fleet-metrics';

export interface DeploymentSource {
  deployments(): Deployment[];
}

async function appsOf(registry: HostRegistry, entry: HostEntry): Promise<AppInfo[]> {
  if (!entry.link?.follow) return registry.appsOf(entry);
  const host = entry.info.name;
  const live = (await entry.link.call('list', { fresh: false, summary: false, where: undefined })).apps;
  // Keeps `view()`'s app and instance counts right, as the Hosts call does.
  registry.snapshot(host, live);
  return live.map((a) => ({ ...a, host, instances: a.instances.map((i) => ({ ...i, host })) }));
}

export function registrySnapshot(registry: HostRegistry, book?: DeploymentSource): () => Promise<FleetSnapshot> {
  return async () => {
    const entries = registry.all();
    const apps = (await Promise.all(entries.map((e) => appsOf(registry, e)))).flat();
    return {
      hosts: entries.map((e) => registry.view(e)),
      apps,
      deployments: book?.deployments() ?? [],
    };
  };
}
