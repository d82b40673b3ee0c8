// Reading an ecosystem file in any of the forms PM2 users have: CommonJS and
// ES modules, JSON with comments (JSON5), YAML. Every failure becomes a
// ConfigError that points at file:line with the original message.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';
import * as JSON5 from 'json5';
import { parse as parseYaml, YAMLParseError } from 'yaml';
import { ConfigError } from './config-error';

const ECOSYSTEM_RE = /^ecosystem.*\.(js|cjs|mjs|json|json5|ya?ml)$/;
const JS_CONFIG_RE = /\.config\.(js|cjs|mjs)$/;
const DATA_RE = /\.(json|json5|ya?ml)$/;

/**
 * Whether `fleet start <file>` means a config file rather than a script, by
 * name only: ecosystem*.{js,cjs,mjs,json,json5,yaml,yml}, *.config.{js,cjs,mjs},
 * and any *.json, *.json5, *.yaml, *.yml (nobody runs those as scripts).
 */
export function isConfigFile(file: string): boolean {
  const base = path.basename(file).toLowerCase();
  return ECOSYSTEM_RE.test(base) || JS_CONFIG_RE.test(base) || DATA_RE.test(base);
}

/** The file's value as written: what module.exports / export default / the document holds. */
export async function loadConfigFile(file: string): Promise<unknown> {
  const abs = path.resolve(file);
  if (!fs.existsSync(abs)) {
    throw new ConfigError(`config file not found (${abs})`, { file, hint: 'check the path; it is resolved against the current directory' });
  }
  switch (path.extname(abs).toLowerCase()) {
    case '.js':
    case '.cjs':
      return loadCommonJs(abs, file);
    case '.mjs':
      return importFresh(abs, file);
    case '.json':
    case '.json5':
      return parseJson5(readText(abs, file), file);
    case '.yaml':
    case '.yml':
      return parseYamlText(readText(abs, file), file);
    default:
      throw new ConfigError(`"${path.basename(abs)}" is not a config file Fleet can read`, {
        file,
        hint: 'use a .js, .cjs, .mjs, .json, .json5, .yaml or .yml file',
      });
  }
}

async function loadCommonJs(abs: string, file: string): Promise<unknown> {
  // Fresh on every load: the daemon reads the same file again after an edit.
  delete require.cache[require.resolve(abs)];
  try {
    return unwrapModule(require(abs));
  } catch (err) {
    // A .js file in a package with "type": "module" is an ES module.
    if (isCode(err, 'ERR_REQUIRE_ESM')) return importFresh(abs, file);
    throw scriptError(err, abs, file);
  }
}

let importGeneration = 0;

async function importFresh(abs: string, file: string): Promise<unknown> {
  // ES modules are cached by URL; a new query string makes the loader read the file again.
  const url = `${pathToFileURL(abs).href}?fleet-load=${++importGeneration}`;
  try {
    // Through the package (self-reference), not a relative path: see import-module.ts.
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { importModule } = require('@fleet/protocol/import-module') as typeof import('../import-module');
    return unwrapModule(await importModule(url));
  } catch (err) {
    throw scriptError(err, abs, file);
  }
}

/**
 * `export default {...}`, `module.exports = {...}`, a transpiled module with a
 * `default`, or an ES module with named exports only (`export const apps`).
 */
function unwrapModule(mod: unknown): unknown {
  if (typeof mod !== 'object' || mod === null) return mod;
  const m = mod as Record<string | symbol, unknown>;
  const isNamespace = m[Symbol.toStringTag] === 'Module';
  if ((isNamespace || m.__esModule === true) && 'default' in m) return m.default;
  if (isNamespace) return { ...m };
  return mod;
}

function parseJson5(text: string, file: string): unknown {
  try {
    return JSON5.parse(text);
  } catch (err) {
    const line = (err as { lineNumber?: unknown }).lineNumber;
    throw new ConfigError(messageOf(err), {
      file,
      line: typeof line === 'number' ? line : undefined,
      hint: 'fix the syntax at that line (comments, unquoted keys and trailing commas are allowed)',
      cause: err,
    });
  }
}

function parseYamlText(text: string, file: string): unknown {
  try {
    return parseYaml(text);
  } catch (err) {
    const line = err instanceof YAMLParseError ? err.linePos?.[0]?.line : undefined;
    // The library's message carries a code frame after the first line, and its
    // position is in file:line already; only the column is worth keeping.
    const first = messageOf(err).split('\n')[0]!.trim();
    throw new ConfigError(first.replace(/ at line \d+, column (\d+):?$/, ' (column $1)'), {
      file,
      line,
      hint: 'fix the YAML at that line (indentation with spaces, "key: value")',
      cause: err,
    });
  }
}

function readText(abs: string, file: string): string {
  try {
    return fs.readFileSync(abs, 'utf8').replace(/^\uFEFF/, '');
  } catch (err) {
    throw new ConfigError(`cannot read config file: ${messageOf(err)}`, { file, cause: err });
  }
}

/** A JS config that threw while loading: keep its message, find the line in its stack. */
function scriptError(err: unknown, abs: string, file: string): ConfigError {
  const notFound = isCode(err, 'MODULE_NOT_FOUND') || isCode(err, 'ERR_MODULE_NOT_FOUND');
  return new ConfigError(messageOf(err).split('\n')[0]!, {
    file,
    line: lineInStack(err, abs),
    hint: notFound
      ? `the config requires a module that is not installed; run npm install in ${path.dirname(abs)}`
      : 'the config file is JavaScript and threw while loading; fix the error at that line',
    cause: err,
  });
}

/** The first `file:line` of the config itself in a stack (CommonJS paths or ESM file URLs). */
export function lineInStack(err: unknown, abs: string): number | undefined {
  const stack = err instanceof Error ? (err.stack ?? '') : '';
  for (const name of [pathToFileURL(abs).href, abs]) {
    const m = new RegExp(`${escapeRegExp(name)}(?:\\?[^:\\s)]*)?:(\\d+)`).exec(stack);
    if (m) return Number(m[1]);
  }
  return undefined;
}

function messageOf(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  return err.name && err.name !== 'Error' && !err.message.startsWith(err.name) ? `${err.name}: ${err.message}` : err.message;
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
