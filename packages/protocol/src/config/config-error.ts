// The one error a config problem raises. Callers branch on the class (it is a
// BadInputError, so it maps to INVALID_ARGUMENT at the wire); the message is
// for people and always says where: `file:line: app "api": <what>`.
import * as path from 'node:path';
import { BadInputError } from '../errors';

export interface ConfigErrorOptions {
  /** The config file, as the caller named it. */
  file?: string;
  line?: number;
  /** The app's name (or its position when it has none yet). */
  app?: string;
  /** The key as the user wrote it (alias or camelCase form included). */
  key?: string;
  hint?: string;
  cause?: unknown;
}

export class ConfigError extends BadInputError {
  readonly file?: string;
  readonly line?: number;
  readonly key?: string;
  /** The message without the location prefix, kept so context can be added later. */
  readonly detail: string;

  constructor(detail: string, options: ConfigErrorOptions = {}) {
    super(formatConfigMessage(detail, options), {
      hint: options.hint,
      app: options.app,
      cause: options.cause,
    });
    this.detail = detail;
    this.file = options.file;
    this.line = options.line;
    this.key = options.key;
  }

  /**
   * The same error with the file and app filled in where they were unknown at
   * the throw site (value parsers know the key but not the file).
   */
  withContext(context: { file?: string; app?: string }): ConfigError {
    return new ConfigError(this.detail, {
      file: this.file ?? context.file,
      line: this.line,
      app: this.app ?? context.app,
      key: this.key,
      hint: this.hint,
      cause: this.cause,
    });
  }
}

/** `file:line: app "x": detail`, leaving out the parts that are unknown. */
export function formatConfigMessage(detail: string, where: { file?: string; line?: number; app?: string }): string {
  return [locationOf(where.file, where.line), where.app === undefined ? undefined : `app "${where.app}"`, detail]
    .filter((part): part is string => part !== undefined && part !== '')
    .join(': ');
}

function locationOf(file?: string, line?: number): string | undefined {
  if (!file) return undefined;
  const shown = displayPath(file);
  return line === undefined ? shown : `${shown}:${line}`;
}

/**
 * A path short enough to read: as given when the caller gave it relative;
 * relative when it lies under the working directory; absolute otherwise, so a
 * message in a server log still points at one file.
 */
export function displayPath(file: string): string {
  if (!path.isAbsolute(file)) return path.normalize(file);
  const abs = path.resolve(file);
  const cwd = process.cwd();
  // A daemon runs from /, where "relative" would only drop the leading slash.
  if (cwd === path.parse(cwd).root) return abs;
  const rel = path.relative(cwd, abs);
  return rel !== '' && !rel.startsWith('..') && !path.isAbsolute(rel) ? rel : abs;
}
