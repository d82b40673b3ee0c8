// One error class per case a caller branches on. Each carries a code that maps
// once onto a gRPC status at the wire (see grpc-errors.ts) and a hint that
// tells the user what to do. Never match on message strings.

export type FleetErrorCode =
  | 'NOT_FOUND' // unknown app, id or host
  | 'BAD_INPUT' // invalid config, flag or argument
  | 'CONFLICT' // already exists, or another operation on the app is under way
  | 'FAILED' // the operation ran and failed (start/reload did not become ready)
  | 'UNAVAILABLE' // the daemon, runner or controller cannot be reached
  | 'DENIED'; // no token, an unknown or revoked token, or a role that may not run the call

export interface FleetErrorOptions {
  hint?: string;
  app?: string;
  host?: string;
  cause?: unknown;
}

export class FleetError extends Error {
  /**
   * The bundled CLI and the controller/agent it loads by path hold separate
   * copies of this class, so `instanceof` fails across them; this mark does not.
   */
  readonly isFleetError = true;
  readonly code: FleetErrorCode;
  readonly hint?: string;
  readonly app?: string;
  readonly host?: string;

  constructor(code: FleetErrorCode, message: string, options: FleetErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.hint = options.hint;
    this.app = options.app;
    this.host = options.host;
  }
}

export class NotFoundError extends FleetError {
  constructor(message: string, options?: FleetErrorOptions) {
    super('NOT_FOUND', message, options);
  }
}

export class BadInputError extends FleetError {
  constructor(message: string, options?: FleetErrorOptions) {
    super('BAD_INPUT', message, options);
  }
}

export class ConflictError extends FleetError {
  constructor(message: string, options?: FleetErrorOptions) {
    super('CONFLICT', message, options);
  }
}

export class OperationFailedError extends FleetError {
  constructor(message: string, options?: FleetErrorOptions) {
    super('FAILED', message, options);
  }
}

export class UnavailableError extends FleetError {
  constructor(message: string, options?: FleetErrorOptions) {
    super('UNAVAILABLE', message, options);
  }
}

export class DeniedError extends FleetError {
  constructor(message: string, options?: FleetErrorOptions) {
    super('DENIED', message, options);
  }
}

/** Builds the error class matching a code received from a peer. */
export function errorFromCode(code: string, message: string, options?: FleetErrorOptions): FleetError {
  switch (code) {
    case 'NOT_FOUND':
      return new NotFoundError(message, options);
    case 'BAD_INPUT':
      return new BadInputError(message, options);
    case 'CONFLICT':
      return new ConflictError(message, options);
    case 'UNAVAILABLE':
      return new UnavailableError(message, options);
    case 'DENIED':
      return new DeniedError(message, options);
    default:
      return new OperationFailedError(message, options);
  }
}

/** A FleetError from this or another copy of this module (see isFleetError). */
export function asFleetError(err: unknown): FleetError | undefined {
  if (err instanceof FleetError) return err;
  if (err instanceof Error && (err as Partial<FleetError>).isFleetError === true) return err as FleetError;
  return undefined;
}
