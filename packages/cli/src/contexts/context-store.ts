// Named connections to controllers (`fleet context`), kubectl style, kept in
// FLEET_HOME/contexts.json. Which one a command uses:
//   FLEET_CONTEXT (a name; 'local' = the local daemon)  >  the file's `current`  >  local daemon
// Invariants: the file is mode 0600 in a 0700 folder (it points at tokens) and is
// replaced atomically, so a crash leaves the old file or the new one. Stored
// paths are absolute: the CLI runs from any folder. 'local' is never a stored
// name; it means "no context". Nothing here opens a connection.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BadInputError, NotFoundError, writeFileAtomic } from '@fleet/protocol';

/** The name that means "the local daemon"; reserved, never stored. */
export const LOCAL_CONTEXT = 'local';

export interface ContextEntry {
  /** host:port of the controller's public service. */
  controller: string;
  /** Absolute path of a file holding the API token. */
  tokenFile?: string;
  /** Absolute path of a PEM CA bundle; without it (and without insecure) the system roots verify. */
  tlsCa?: string;
  /** Plaintext gRPC, no TLS: the token travels in clear. Excludes tlsCa and serverName. */
  insecure?: boolean;
  /** The name the controller's certificate is checked against, when it is not the host of `controller`. */
  serverName?: string;
}

export interface ContextsFile {
  version: 1;
  current?: string;
  contexts: Record<string, ContextEntry>;
}

export interface ResolvedContext {
  /** The context name, or 'local'. */
  name: string;
  /** Absent for the local daemon. */
  entry?: ContextEntry;
  /** Where the choice came from: env FLEET_CONTEXT, the file's `current`, or nothing chosen. */
  source: 'env' | 'file' | 'default';
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const HOSTNAME = /^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\.?$/;
const ADD_EXAMPLE = 'fleet context add prod --controller ctl.example:7070 --token-file ~/.fleet/prod.token';

export function contextsPath(home: string): string {
  return path.join(home, 'contexts.json');
}

export function emptyContexts(): ContextsFile {
  return { version: 1, contexts: {} };
}

/** The file, or an empty one when it does not exist yet. A damaged file is an error naming it. */
export function loadContexts(home: string): ContextsFile {
  const file = contextsPath(home);
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return emptyContexts();
    throw new BadInputError(`cannot read ${file}: ${(err as Error).message}`, { cause: err });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw damaged(file, `not valid JSON (${(err as Error).message})`, err);
  }
  return checkFile(file, raw);
}

export function saveContexts(home: string, file: ContextsFile): void {
  const out: ContextsFile = { version: 1, ...(file.current ? { current: file.current } : {}), contexts: {} };
  for (const name of Object.keys(file.contexts).sort()) setEntry(out.contexts, name, file.contexts[name]);
  writeFileAtomic(contextsPath(home), JSON.stringify(out, null, 2) + '\n');
}

/**
 * The checks that need no disk: the name, the address, the TLS options.
 * BadInputError, so the command can report them as usage (exit 2).
 */
export function validateContextInput(name: string, input: ContextEntry): void {
  checkContextName(name);
  checkControllerAddress(input.controller);
  if (input.insecure && input.tlsCa) {
    throw new BadInputError('--insecure and --tls-ca exclude each other', {
      hint: 'use --tls-ca <file> to verify the controller with your own CA, or --insecure for plaintext (trusted networks only)',
    });
  }
  if (input.insecure && input.serverName) {
    throw new BadInputError('--server-name needs TLS, and --insecure turns TLS off', {
      hint: 'drop --insecure, or drop --server-name',
    });
  }
  if (input.serverName !== undefined && !HOSTNAME.test(input.serverName)) {
    throw new BadInputError(`invalid server name '${input.serverName}'`, { hint: 'use the DNS name in the controller certificate, e.g. ctl.example' });
  }
}

export function checkContextName(name: string): void {
  if (name === LOCAL_CONTEXT) {
    throw new BadInputError(`'${LOCAL_CONTEXT}' is reserved: it means the local daemon`, {
      hint: `pick another name; to go back to the local daemon run: fleet context use ${LOCAL_CONTEXT}`,
    });
  }
  if (!NAME.test(name)) {
    throw new BadInputError(`invalid context name '${name}'`, {
      hint: `use letters, digits, '.', '_' and '-', starting with a letter or digit, e.g. ${ADD_EXAMPLE}`,
    });
  }
}

/** host:port, [ipv6]:port; port 1-65535. Returns the parts. */
export function checkControllerAddress(address: string): { host: string; port: number } {
  const bad = (why: string): BadInputError =>
    new BadInputError(`invalid controller address '${address}': ${why}`, { hint: `give host:port, e.g. ${ADD_EXAMPLE}` });
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) throw bad('no scheme (https://, grpc://): TLS is chosen with --tls-ca / --insecure');
  const m = /^(\[([0-9A-Fa-f:.]+)\]|([^:[\]]+)):([^:]*)$/.exec(address);
  if (!m) throw bad('expected host:port');
  const host = m[2] ?? m[3];
  const portText = m[4];
  if (m[3] !== undefined && !HOSTNAME.test(host)) throw bad(`'${host}' is not a host name or IPv4 address`);
  if (!/^\d{1,5}$/.test(portText) || Number(portText) < 1 || Number(portText) > 65535) {
    throw bad(`the port must be a number from 1 to 65535${portText ? `, not '${portText}'` : ''}`);
  }
  return { host, port: Number(portText) };
}

export interface AddedContext {
  entry: ContextEntry;
  /** A context of that name existed and was overwritten. */
  replaced: boolean;
}

/**
 * Adds or overwrites a context. Relative paths resolve against `cwd` (and `~/`
 * against the user's home); the files must exist and be readable now.
 */
export function addContext(home: string, name: string, input: ContextEntry, cwd: string): AddedContext {
  validateContextInput(name, input);
  const entry: ContextEntry = { controller: input.controller };
  if (input.tokenFile !== undefined) entry.tokenFile = readableFile(input.tokenFile, cwd, 'token file');
  if (input.tlsCa !== undefined) entry.tlsCa = readableFile(input.tlsCa, cwd, 'TLS CA file');
  if (input.insecure) entry.insecure = true;
  if (input.serverName !== undefined) entry.serverName = input.serverName;
  const file = loadContexts(home);
  const replaced = lookup(file, name) !== undefined;
  setEntry(file.contexts, name, entry);
  saveContexts(home, file);
  return { entry, replaced };
}

/** Makes `name` current; 'local' clears it. Returns the entry, undefined for local. */
export function useContext(home: string, name: string): ContextEntry | undefined {
  const file = loadContexts(home);
  if (name === LOCAL_CONTEXT) {
    delete file.current;
    saveContexts(home, file);
    return undefined;
  }
  const entry = lookup(file, name);
  if (!entry) throw unknownContext(file, name);
  file.current = name;
  saveContexts(home, file);
  return entry;
}

/** Removes a context; when it was current, commands go to the local daemon again. */
export function removeContext(home: string, name: string): { entry: ContextEntry; wasCurrent: boolean } {
  const file = loadContexts(home);
  const entry = lookup(file, name);
  if (!entry) {
    if (name === LOCAL_CONTEXT) {
      throw new BadInputError(`'${LOCAL_CONTEXT}' is the local daemon, not a saved context`, {
        hint: 'remove a saved context instead (fleet context ls)',
      });
    }
    throw unknownContext(file, name);
  }
  delete file.contexts[name];
  const wasCurrent = file.current === name;
  if (wasCurrent) delete file.current;
  saveContexts(home, file);
  return { entry, wasCurrent };
}

/**
 * Where commands go, and why. A name that is set (in FLEET_CONTEXT or the
 * file) but not saved is an error, never a silent fall back to another target.
 */
export function resolveContext(home: string, env: NodeJS.ProcessEnv): ResolvedContext {
  const fromEnv = env.FLEET_CONTEXT?.trim();
  if (fromEnv === LOCAL_CONTEXT) return { name: LOCAL_CONTEXT, source: 'env' };
  const file = loadContexts(home);
  if (fromEnv) {
    const entry = lookup(file, fromEnv);
    if (!entry) throw unknownContext(file, fromEnv, 'FLEET_CONTEXT');
    return { name: fromEnv, entry, source: 'env' };
  }
  if (file.current) {
    const entry = lookup(file, file.current);
    if (!entry) throw unknownContext(file, file.current, contextsPath(home));
    return { name: file.current, entry, source: 'file' };
  }
  return { name: LOCAL_CONTEXT, source: 'default' };
}

/** The controller context in use, or undefined for the local daemon. */
export function currentContext(
  home: string,
  env: NodeJS.ProcessEnv,
): { name: string; entry: ContextEntry; source: 'env' | 'file' } | undefined {
  const r = resolveContext(home, env);
  if (!r.entry || r.source === 'default') return undefined;
  return { name: r.name, entry: r.entry, source: r.source };
}

/**
 * The token to send: env FLEET_TOKEN when set and not empty (CI), else the
 * context's token file, trimmed. Undefined when neither exists.
 */
export function readToken(entry: ContextEntry, env: NodeJS.ProcessEnv): string | undefined {
  const fromEnv = env.FLEET_TOKEN?.trim();
  if (fromEnv) return fromEnv;
  if (!entry.tokenFile) return undefined;
  const hint = `write the token into it, point the context at another file (${ADD_EXAMPLE}), or set FLEET_TOKEN`;
  let text: string;
  try {
    text = fs.readFileSync(entry.tokenFile, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : `cannot be read (${(err as Error).message})`;
    throw new BadInputError(`token file ${entry.tokenFile} ${why}`, { hint, cause: err });
  }
  const token = text.trim();
  if (!token) throw new BadInputError(`token file ${entry.tokenFile} is empty`, { hint });
  return token;
}

/** Own properties only: 'constructor' or 'toString' are valid names, not inherited members. */
export function lookup(file: ContextsFile, name: string): ContextEntry | undefined {
  return Object.hasOwn(file.contexts, name) ? file.contexts[name] : undefined;
}

/** defineProperty, not assignment: a hand-written "__proto__" key stays a plain entry. */
function setEntry(contexts: Record<string, ContextEntry>, name: string, entry: ContextEntry): void {
  Object.defineProperty(contexts, name, { value: entry, enumerable: true, writable: true, configurable: true });
}

function unknownContext(file: ContextsFile, name: string, setIn?: string): NotFoundError {
  const names = Object.keys(file.contexts).sort();
  const known = names.length ? `known: ${names.join(', ')}, or ${LOCAL_CONTEXT}` : `none saved yet; add one with: ${ADD_EXAMPLE}`;
  const where = setIn ? ` (set in ${setIn})` : '';
  return new NotFoundError(`no context named '${name}'${where}`, { hint: known });
}

function readableFile(given: string, cwd: string, what: string): string {
  const expanded = given === '~' || given.startsWith('~/') ? path.join(os.homedir(), given.slice(1)) : given;
  const abs = path.resolve(cwd, expanded);
  const hint = `give the path of an existing, readable file, e.g. ${ADD_EXAMPLE}`;
  let stat: fs.Stats;
  try {
    stat = fs.statSync(abs);
    fs.accessSync(abs, fs.constants.R_OK);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'does not exist' : code === 'EACCES' ? 'is not readable by this user' : `cannot be read (${(err as Error).message})`;
    throw new BadInputError(`${what} ${abs} ${why}`, { hint, cause: err });
  }
  if (!stat.isFile()) throw new BadInputError(`${what} ${abs} is not a file`, { hint });
  return abs;
}

function checkFile(file: string, raw: unknown): ContextsFile {
  if (!isObject(raw)) throw damaged(file, 'expected a JSON object');
  if (raw.version !== 1) {
    throw damaged(file, `unknown version ${JSON.stringify(raw.version)} (this fleet reads version 1; a newer fleet may have written it)`);
  }
  if (raw.current !== undefined && typeof raw.current !== 'string') throw damaged(file, "'current' must be a string");
  if (!isObject(raw.contexts)) throw damaged(file, "'contexts' must be an object");
  const contexts: Record<string, ContextEntry> = {};
  for (const [name, e] of Object.entries(raw.contexts)) {
    const at = `contexts.${name}`;
    if (!isObject(e) || typeof e.controller !== 'string') throw damaged(file, `'${at}.controller' must be a string`);
    for (const key of ['tokenFile', 'tlsCa', 'serverName'] as const) {
      if (e[key] !== undefined && typeof e[key] !== 'string') throw damaged(file, `'${at}.${key}' must be a string`);
    }
    if (e.insecure !== undefined && typeof e.insecure !== 'boolean') throw damaged(file, `'${at}.insecure' must be true or false`);
    const entry: ContextEntry = { controller: e.controller };
    if (e.tokenFile !== undefined) entry.tokenFile = e.tokenFile as string;
    if (e.tlsCa !== undefined) entry.tlsCa = e.tlsCa as string;
    if (e.insecure) entry.insecure = true;
    if (e.serverName !== undefined) entry.serverName = e.serverName as string;
    setEntry(contexts, name, entry);
  }
  return { version: 1, ...(raw.current ? { current: raw.current as string } : {}), contexts };
}

function damaged(file: string, why: string, cause?: unknown): BadInputError {
  return new BadInputError(`${file} is damaged: ${why}`, {
    hint: `fix it by hand, or delete it and add the contexts again (${ADD_EXAMPLE})`,
    cause,
  });
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

