// Who may call what. The controller checks bearer tokens against its token
// store; the local daemon's unix socket (mode 0600) is its own guard, so there
// every caller is an operator.
import type { Metadata } from '@grpc/grpc-js';

/** Returns the caller's role for the method (a gRPC path), or throws a FleetError saying why not. */
export type Authorizer = (metadata: Metadata, method: string) => string;

export const localAuthorizer: Authorizer = () => 'operator';
