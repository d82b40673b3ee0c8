// The controller's API tokens. A token is shown once, at creation; the file
// keeps only its sha256, so a leaked file (or backup) grants nothing. Tokens
// are 32 random bytes: a hash of them cannot be reversed by guessing, so no
// slow KDF is needed. The file is rewritten atomically with mode 0600 on every
// change; this process is its only writer (the CLI goes through the RPCs).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { BadInputError, ConflictError, NotFoundError, readJsonFile, type TokenInfo, writeFileAtomic } from '@fleet/protocol';
import { ROLES, parseRole, type Role } from './roles';

export const TOKEN_PREFIX = 'fleet_';
/** Shortest secret `import` accepts: below this a hash could be brute-forced. */
export const MIN_IMPORTED_TOKEN_LENGTH = 16;
const MAX_NAME_LENGTH = 64;
const FILE_VERSION = 1;

interface StoredToken {
  id: string;
  role: Role;
  name: string;
  createdMs: number;
  /** sha256 of the secret, hex. */
  hash: string;
}

interface TokenFile {
  version: number;
  tokens: StoredToken[];
}

interface Entry {
  stored: StoredToken;
  hash: Buffer;
}

export class TokenStore {
  private readonly entries: Entry[];

  private constructor(
    private readonly file: string,
    private readonly clock: () => number,
    stored: StoredToken[],
  ) {
    this.entries = stored.map((s) => ({ stored: s, hash: Buffer.from(s.hash, 'hex') }));
  }

  /** Loads the store; a missing file is an empty store (created on the first change). */
  static open(file: string, clock: () => number = Date.now): TokenStore {
    let data: TokenFile | undefined;
    try {
      data = readJsonFile<TokenFile>(file);
    } catch (err) {
      throw corrupt(file, err instanceof SyntaxError ? 'it is not valid JSON' : String(err), err);
    }
    return new TokenStore(file, clock, data === undefined ? [] : validate(file, data));
  }

  /** Makes a new token; the secret is in the result only, never stored. */
  create(role: string, name = ''): { info: TokenInfo; token: string } {
    const parsed = parseRole(role);
    const token = TOKEN_PREFIX + randomBytes(32).toString('base64url');
    const info = this.add(token, parsed, checkName(name));
    return { info, token };
  }

  /**
   * Stores a secret chosen by the caller, so tests and demos can start a
   * controller with a known token. Importing the same secret again with the
   * same role returns the stored entry, so a demo can be restarted.
   */
  import(token: string, role: string, name = ''): TokenInfo {
    const parsed = parseRole(role);
    if (token.length < MIN_IMPORTED_TOKEN_LENGTH || /\s/.test(token)) {
      throw new BadInputError(
        `an imported token must be at least ${MIN_IMPORTED_TOKEN_LENGTH} characters, without spaces`,
        { hint: 'use a long random secret, or let `fleet token create` make one' },
      );
    }
    const existing = this.find(token);
    if (existing) {
      if (existing.stored.role === parsed) return toInfo(existing.stored);
      throw new ConflictError(`this token is already stored as ${existing.stored.id} with role ${existing.stored.role}`, {
        hint: `revoke it first with \`fleet token revoke ${existing.stored.id}\`, or import another secret`,
      });
    }
    return this.add(token, parsed, checkName(name));
  }

  /** Revokes by id, or by name when no id matches; a name held by several tokens is refused. */
  revoke(idOrName: string): TokenInfo {
    let index = this.entries.findIndex((e) => e.stored.id === idOrName);
    if (index < 0) {
      const byName = this.entries.flatMap((e, i) => (idOrName !== '' && e.stored.name === idOrName ? [i] : []));
      if (byName.length > 1) {
        const ids = byName.map((i) => this.entries[i]!.stored.id).join(', ');
        throw new BadInputError(`${byName.length} tokens are named ${JSON.stringify(idOrName)} (${ids})`, {
          hint: 'revoke by id: see `fleet token ls`',
        });
      }
      index = byName[0] ?? -1;
    }
    if (index < 0) {
      throw new NotFoundError(`no token has the id or name ${JSON.stringify(idOrName)}`, {
        hint: 'see the tokens with `fleet token ls`',
      });
    }
    const [removed] = this.entries.splice(index, 1);
    this.save();
    return toInfo(removed!.stored);
  }

  list(): TokenInfo[] {
    return this.entries.map((e) => toInfo(e.stored));
  }

  /** The token's entry, or undefined for an unknown (or revoked) token. */
  verify(token: string): TokenInfo | undefined {
    const found = this.find(token);
    return found && toInfo(found.stored);
  }

  isEmpty(): boolean {
    return this.entries.length === 0;
  }

  // Compares against every entry, without stopping at a match, so the time
  // taken does not tell which (or whether an early) entry matched.
  private find(token: string): Entry | undefined {
    const presented = sha256(token);
    let found: Entry | undefined;
    for (const entry of this.entries) {
      const equal = timingSafeEqual(presented, entry.hash);
      if (equal && found === undefined) found = entry;
    }
    return found;
  }

  private add(token: string, role: Role, name: string): TokenInfo {
    const stored: StoredToken = {
      id: this.newId(),
      role,
      name,
      createdMs: this.clock(),
      hash: sha256(token).toString('hex'),
    };
    this.entries.push({ stored, hash: Buffer.from(stored.hash, 'hex') });
    try {
      this.save();
    } catch (err) {
      // Not persisted means not created: a restart would forget it.
      this.entries.pop();
      throw err;
    }
    return toInfo(stored);
  }

  private newId(): string {
    for (;;) {
      const id = randomBytes(4).toString('hex');
      if (!this.entries.some((e) => e.stored.id === id)) return id;
    }
  }

  private save(): void {
    const data: TokenFile = { version: FILE_VERSION, tokens: this.entries.map((e) => e.stored) };
    writeFileAtomic(this.file, JSON.stringify(data, null, 2) + '\n', 0o600);
  }
}

function sha256(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function toInfo(s: StoredToken): TokenInfo {
  return { id: s.id, role: s.role, name: s.name, createdMs: s.createdMs };
}

function checkName(name: string): string {
  const trimmed = name.trim();
  // Control characters would garble `fleet token ls` and logs.
  if (trimmed.length > MAX_NAME_LENGTH || /[\p{Cc}]/u.test(trimmed)) {
    throw new BadInputError(`a token name must be at most ${MAX_NAME_LENGTH} printable characters`, {
      hint: 'use a short label such as the host or person the token is for',
    });
  }
  return trimmed;
}

function validate(file: string, data: TokenFile): StoredToken[] {
  if (typeof data !== 'object' || data === null || !Array.isArray(data.tokens)) {
    throw corrupt(file, 'it has no "tokens" list');
  }
  if (data.version !== FILE_VERSION) {
    throw corrupt(file, `its version is ${JSON.stringify(data.version)}, this controller reads ${FILE_VERSION}`);
  }
  return data.tokens.map((t, i) => {
    const ok =
      typeof t === 'object' &&
      t !== null &&
      typeof t.id === 'string' &&
      (ROLES as readonly string[]).includes(t.role) &&
      typeof t.name === 'string' &&
      typeof t.createdMs === 'number' &&
      typeof t.hash === 'string' &&
      /^[0-9a-f]{64}$/.test(t.hash);
    if (!ok) throw corrupt(file, `entry ${i} is malformed`);
    return { id: t.id, role: t.role, name: t.name, createdMs: t.createdMs, hash: t.hash };
  });
}

function corrupt(file: string, why: string, cause?: unknown): BadInputError {
  return new BadInputError(`cannot read the token file ${file}: ${why}`, {
    hint: 'restore it from a backup, or move it away to start with no tokens (every token must then be created again)',
    cause,
  });
}
