// Checks the bearer token of an incoming call against the token store and the
// role rules. Every refusal is a DeniedError (gRPC PERMISSION_DENIED) whose
// message says which case it is and whose hint says what to do, so the CLI can
// print it as is.
import type { Metadata } from '@grpc/grpc-js';
import { DeniedError, type TokenInfo } from '@fleet/protocol';
import { allows, methodName, requiredRoleText, rolesAllowing, type Role } from './roles';

/** The part of TokenStore that authorization needs. */
export interface TokenVerifier {
  verify(token: string): TokenInfo | undefined;
}

export interface Caller {
  role: Role;
  tokenId: string;
  tokenName: string;
}

const BEARER = /^Bearer[ \t]+(\S+)[ \t]*$/i;

/** The token of an 'authorization: Bearer <token>' header, or undefined when absent or of another form. */
export function bearerFrom(metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0];
  if (typeof value !== 'string') return undefined;
  return BEARER.exec(value)?.[1];
}

/** Who is calling `method` (a gRPC path), or a DeniedError saying why not. */
export function authorize(store: TokenVerifier, metadata: Metadata, method: string): Caller {
  const token = bearerFrom(metadata);
  if (token === undefined) {
    const header = metadata.get('authorization')[0];
    const message =
      header === undefined
        ? 'this controller needs a token and the call carried none'
        : "the call's authorization header is not of the form 'Bearer <token>'";
    throw new DeniedError(message, { hint: 'pass --token-file or `fleet context add … --token-file`' });
  }
  const info = store.verify(token);
  if (info === undefined) {
    throw new DeniedError(
      'the token is not known to this controller: it was revoked or belongs to another controller',
      { hint: 'create one with `fleet token create --role operator` on the controller' },
    );
  }
  // The store only holds valid roles; the cast keeps the TokenInfo wire type (string).
  const role = info.role as Role;
  if (!allows(role, method)) {
    const needed = rolesAllowing(method);
    const hint =
      needed.length === 0
        ? 'the CLI or agent is likely newer than this controller: upgrade the controller'
        : `use ${article(needed[0]!)} ${needed.join(' or ')} token; create one with \`fleet token create --role ${needed[0]}\` on the controller`;
    throw new DeniedError(`${article(role)} ${role} token cannot run ${methodName(method)}: it ${requiredRoleText(method)}`, {
      hint,
    });
  }
  return { role, tokenId: info.id, tokenName: info.name };
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? 'an' : 'a';
}
