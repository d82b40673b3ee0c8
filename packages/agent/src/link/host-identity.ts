// Who this host is, as it registers with a controller (or with the local
// daemon's embedded one).
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import { FLEET_VERSION, LINK_PROTOCOL_VERSION, type Register } from '@fleet/protocol';

export interface HostIdentityOptions {
  name?: string;
  labels?: Record<string, string>;
  env?: Record<string, string>;
}

/** One per agent process: a reconnect is the same agent, a restarted agent is a new one. */
const INSTANCE_ID = randomUUID();

export function hostIdentity(opts: HostIdentityOptions, now: () => number = Date.now): Register {
  return {
    name: opts.name || os.hostname().split('.')[0],
    labels: opts.labels ?? {},
    agentVersion: FLEET_VERSION,
    protocolVersion: LINK_PROTOCOL_VERSION,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    cpus: os.cpus().length,
    memoryTotalBytes: os.totalmem(),
    env: opts.env ?? {},
    instanceId: INSTANCE_ID,
    timeMs: now(),
  };
}
