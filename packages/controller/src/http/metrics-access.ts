// Who may read the metrics endpoints, and where they may be served.
//
// The rule, one for each role:
//   loopback (127.x, ::1, localhost)  plain HTTP, no token: only this machine reaches it.
//   controller beyond loopback        a viewer or operator token from the controller's own
//                                     token store (Authorization: Bearer <token>), always; served
//                                     over HTTPS with the controller's --tls-cert/--tls-key, or in
//                                     plaintext only with --insecure, as for its gRPC port.
//   agent beyond loopback             only with --metrics-token-file: every request carries that
//                                     secret (Bearer). Plain HTTP: the agent has no certificate;
//                                     the secret opens these read-only endpoints and nothing else.
// GET /healthz needs no token anywhere (load balancers and probes); it tells
// nothing but whether the process serves.
import { createHash, timingSafeEqual } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { BadInputError, isLoopbackAddress, type ListenAddress, parseListen } from '@fleet/protocol';
import { authorize, bearerFrom, type TokenVerifier } from '../auth/bearer';

export const METRICS_LISTEN_FLAG = '--metrics-listen';
/** Shortest --metrics-token-file secret taken (as for imported controller tokens). */
export const MIN_METRICS_TOKEN_LENGTH = 16;

export interface Refusal {
  status: 401 | 403;
  message: string;
  hint: string;
}

/** Checks a request's Authorization header: undefined lets it through. */
export type RequestGuard = (authorization: string | undefined) => Refusal | undefined;

export interface MetricsAccess {
  who: 'controller' | 'agent';
  /** Controller: serves TLS (its --tls-cert/--tls-key). */
  tls?: boolean;
  /** Controller: --insecure, plaintext beyond loopback is accepted. */
  insecure?: boolean;
  /** Agent: --metrics-token-file was given. */
  token?: boolean;
}

/**
 * The parsed --metrics-listen address, or a BadInputError when serving there
 * would break the rule above. Called before anything starts, so a bad flag
 * stops the process at once.
 */
export function checkMetricsListen(listen: string, access: MetricsAccess): ListenAddress {
  const addr = parseListen(listen, METRICS_LISTEN_FLAG);
  if (isLoopbackAddress(addr.host)) return addr;
  if (access.who === 'agent' && !access.token) {
    throw new BadInputError(`refusing to serve metrics on ${listen} without a token: anyone who reaches it would read this host's apps`, {
      hint: 'pass --metrics-token-file <file> (scrapers then send Authorization: Bearer <its content>), or keep --metrics-listen on 127.0.0.1',
    });
  }
  if (access.who === 'controller' && !access.tls && !access.insecure) {
    throw new BadInputError(`refusing to serve metrics on ${listen} without TLS: viewer tokens would cross the network in clear`, {
      hint: 'give the controller --tls-cert and --tls-key (metrics are then served over HTTPS), or --insecure on a network you trust, or keep --metrics-listen on 127.0.0.1',
    });
  }
  return addr;
}

/** A request's bearer token, with its header as gRPC metadata (what the token store's rule reads), or the refusal when it has none. */
function bearerOf(authorization: string | undefined): { token: string; metadata: Metadata } | Refusal {
  const metadata = new Metadata();
  if (authorization !== undefined) metadata.set('authorization', authorization);
  const token = bearerFrom(metadata);
  if (token !== undefined) return { token, metadata };
  return {
    status: 401,
    message: authorization === undefined ? 'this endpoint needs a token and the request carried none' : "the authorization header is not of the form 'Bearer <token>'",
    hint: 'send the header Authorization: Bearer <token> (Prometheus: authorization.credentials_file in the scrape config)',
  };
}

/**
 * The controller's rule: a token its store knows, of a role that may run
 * `method` (a gRPC path; FleetService.list.path lets viewers and operators in).
 */
export function tokenStoreGuard(store: TokenVerifier, method: string): RequestGuard {
  return (authorization) => {
    const got = bearerOf(authorization);
    if ('status' in got) return got;
    const { token, metadata } = got;
    if (store.verify(token) === undefined) {
      return { status: 401, message: 'the token is not known to this controller: it was revoked or belongs to another controller', hint: 'create one with `fleet token create --role viewer` on the controller' };
    }
    try {
      authorize(store, metadata, method);
      return undefined;
    } catch (err) {
      const e = err as BadInputError;
      return { status: 403, message: e.message, hint: e.hint ?? 'use a viewer token: `fleet token create --role viewer`' };
    }
  };
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** The agent's rule: the one secret of --metrics-token-file, compared in constant time. */
export function staticTokenGuard(secret: string, file = '--metrics-token-file'): RequestGuard {
  const want = secret.trim();
  if (want.length < MIN_METRICS_TOKEN_LENGTH) {
    throw new BadInputError(`the metrics token in ${file} is ${want.length ? 'too short' : 'empty'}: it needs at least ${MIN_METRICS_TOKEN_LENGTH} characters`, {
      hint: 'write a long random secret into it, e.g. `openssl rand -hex 32 > metrics.token`',
    });
  }
  const wanted = digest(want);
  return (authorization) => {
    const got = bearerOf(authorization);
    if ('status' in got) return got;
    if (!timingSafeEqual(digest(got.token), wanted)) {
      return { status: 401, message: 'the token is not the one this agent was given', hint: 'send the content of the agent\'s --metrics-token-file' };
    }
    return undefined;
  };
}
