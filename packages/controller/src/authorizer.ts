// Who may call what. The controller checks bearer tokens against its token
// store; the local daemon's unix socket (mode 0600) is its own guard, so there
// every caller is an operator.
import type { Metadata } from '@grpc/grpc-js';

export interface CallerRole {
  role: string;
  /** The token's id; streams opened with it end when it is revoked. Empty in local mode. */
  tokenId: string;
  /** The token's name: an agent token named like a host may register only as that host. */
  tokenName?: string;
}

/** Returns the caller for the method (a gRPC path), or throws a FleetError saying why not. */
export type Authorizer = (metadata: Metadata, method: string) => CallerRole;

export const localAuthorizer: Authorizer = () => ({ role: 'operator', tokenId: '' });
