// The one place where Fleet errors cross the gRPC wire, both directions.
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { FleetError, errorFromCode, type FleetErrorCode } from './errors';

const STATUS_OF: Record<FleetErrorCode, status> = {
  NOT_FOUND: status.NOT_FOUND,
  BAD_INPUT: status.INVALID_ARGUMENT,
  CONFLICT: status.FAILED_PRECONDITION,
  FAILED: status.ABORTED,
  UNAVAILABLE: status.UNAVAILABLE,
  DENIED: status.PERMISSION_DENIED,
};

/**
 * Metadata values must be printable ASCII (grpc-js throws otherwise): hints may
 * carry "…", a refused host name anything. Those are percent-encoded; plain
 * values, which never contain "%", travel as they are.
 */
function metadataSafe(value: string): string {
  return /^[\x20-\x24\x26-\x7e]*$/.test(value) ? value : encodeURIComponent(value);
}

function fromMetadata(value: string): string {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** Turns any thrown value into the error a gRPC handler passes to its callback. */
export function toServiceError(err: unknown): Partial<ServiceError> {
  const metadata = new Metadata();
  if (err instanceof FleetError) {
    metadata.set('fleet-code', err.code);
    if (err.hint) metadata.set('fleet-hint', metadataSafe(err.hint));
    if (err.app) metadata.set('fleet-app', metadataSafe(err.app));
    if (err.host) metadata.set('fleet-host', metadataSafe(err.host));
    return { code: STATUS_OF[err.code], details: err.message, metadata };
  }
  const message = err instanceof Error ? err.message : String(err);
  metadata.set('fleet-code', 'FAILED');
  return { code: status.INTERNAL, details: message, metadata };
}

/** Turns a gRPC client error back into a FleetError (or an UnavailableError when the peer is gone). */
export function fromServiceError(err: ServiceError): FleetError {
  const get = (key: string): string | undefined => {
    const value = err.metadata?.get(key)[0];
    return value === undefined ? undefined : fromMetadata(String(value));
  };
  const code = get('fleet-code');
  if (code) {
    return errorFromCode(code, err.details || err.message, {
      hint: get('fleet-hint'),
      app: get('fleet-app'),
      host: get('fleet-host'),
      cause: err,
    });
  }
  if (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED) {
    return errorFromCode('UNAVAILABLE', err.details || err.message, { cause: err });
  }
  return errorFromCode('FAILED', err.details || err.message, { cause: err });
}
