// The agent link's version. Bump LINK_PROTOCOL_VERSION on any change to
// agent_link.proto (or to what its messages mean) that a peer of the previous
// version could misread. A controller accepts agents one version older, so a
// fleet can upgrade its controller first and its hosts one by one.
export const LINK_PROTOCOL_VERSION = 1;
export const LINK_PROTOCOL_OLDEST = Math.max(1, LINK_PROTOCOL_VERSION - 1);

/** Why a controller refuses an agent's protocol version, or undefined when it takes it. */
export function linkVersionProblem(agentVersion: number): string | undefined {
  if (agentVersion > LINK_PROTOCOL_VERSION) {
    return `the agent speaks link protocol ${agentVersion}, newer than this controller's ${LINK_PROTOCOL_VERSION}: upgrade the controller first`;
  }
  if (agentVersion < LINK_PROTOCOL_OLDEST) {
    return `the agent speaks link protocol ${agentVersion}, older than the oldest this controller takes (${LINK_PROTOCOL_OLDEST}): upgrade fleet on the host`;
  }
  return undefined;
}
