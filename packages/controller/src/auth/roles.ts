// What each token role may call. The method lists come from the generated
// service definitions, so a renamed RPC fails to compile here instead of
// silently falling out of a role; a new RPC is operator-only until listed.
//   agent    -> the agent link only (an agent's token cannot drive the fleet)
//   viewer   -> read-only Fleet calls: Ping, List, Describe, Logs, Hosts, Deployments, WatchDeployment, Releases
//   operator -> every Fleet call, but not the agent link (it is no agent)
// Anything else (an unknown method) is denied to every role.
import { AgentLinkService, BadInputError, FleetService } from '@fleet/protocol';

export type Role = 'agent' | 'operator' | 'viewer';

export const ROLES: readonly Role[] = ['agent', 'operator', 'viewer'];

const AGENT_METHODS: ReadonlySet<string> = new Set([AgentLinkService.connect.path, AgentLinkService.fetchArtifact.path]);

const VIEWER_METHODS: ReadonlySet<string> = new Set([
  FleetService.ping.path,
  FleetService.list.path,
  FleetService.describe.path,
  FleetService.logs.path,
  FleetService.hosts.path,
  FleetService.deployments.path,
  FleetService.watchDeployment.path,
  FleetService.releases.path,
]);

const OPERATOR_METHODS: ReadonlySet<string> = new Set(Object.values(FleetService).map((def) => def.path));

const METHODS_OF: Record<Role, ReadonlySet<string>> = {
  agent: AGENT_METHODS,
  viewer: VIEWER_METHODS,
  operator: OPERATOR_METHODS,
};

export function parseRole(s: string): Role {
  const role = s.trim().toLowerCase();
  if ((ROLES as readonly string[]).includes(role)) return role as Role;
  throw new BadInputError(`${JSON.stringify(s)} is not a token role`, {
    hint: `use one of: ${ROLES.join(', ')}`,
  });
}

/** Whether a token of `role` may call `method`, a gRPC path like '/fleet.v1.Fleet/Restart'. */
export function allows(role: Role, method: string): boolean {
  return METHODS_OF[role]?.has(method) ?? false;
}

/** The roles that may call `method`, least powerful first; empty for an unknown method. */
export function rolesAllowing(method: string): Role[] {
  const order: Role[] = ['agent', 'viewer', 'operator'];
  return order.filter((role) => METHODS_OF[role].has(method));
}

/** For error messages: "needs an operator token", "needs a viewer or operator token". */
export function requiredRoleText(method: string): string {
  const roles = rolesAllowing(method);
  if (roles.length === 0) return `is not a method this controller serves`;
  const names = roles.join(' or ');
  return `needs ${/^[aeiou]/.test(names) ? 'an' : 'a'} ${names} token`;
}

/** '/fleet.v1.Fleet/Restart' -> 'Restart', for messages. */
export function methodName(method: string): string {
  return method.slice(method.lastIndexOf('/') + 1) || method;
}
