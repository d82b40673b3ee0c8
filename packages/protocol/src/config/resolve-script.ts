// What to run: `script` as a file relative to the app's cwd, else a command on
// PATH (`npm` with args "start"), else a shell command line ("npm run start",
// run with bash -c as PM2 does). And which program runs it: the extension
// decides, then the shebang, then the executable bit.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError } from './config-error';

/** Interpreters by extension. PM2 says "python"; python3 is what servers have today. */
export const INTERPRETER_BY_EXT: Readonly<Record<string, string>> = {
  '.js': 'node',
  '.cjs': 'node',
  '.mjs': 'node',
  '.py': 'python3',
  '.rb': 'ruby',
  '.sh': 'bash',
  '.pl': 'perl',
  '.php': 'php',
  '.coffee': 'coffee',
};

// Node runs these only with a loader in node_args or a Node with type stripping.
const TYPESCRIPT_EXTS = new Set(['.ts', '.mts', '.cts', '.tsx']);

export interface ResolveScriptInput {
  /** As written in the config. */
  script: string;
  /** The key it was written under, for messages. */
  scriptKey: string;
  /** The app's absolute working directory. */
  cwd: string;
  /** Explicit `interpreter`; it wins over detection ("none" runs the script itself). */
  interpreter?: string;
  hasInterpreterArgs: boolean;
  /** The PATH to search for bare command names. */
  pathEnv?: string;
}

export interface ResolvedScript {
  /** An absolute file path, or a command name found on PATH. */
  script: string;
  interpreter: string;
  /** Set when `script` was a command line: run as `<shell> -c <commandLine>`. */
  commandLine?: string;
  notes: string[];
}

export function resolveScript(input: ResolveScriptInput): ResolvedScript {
  const { cwd, interpreter } = input;
  if (interpreter !== undefined && /^node@/.test(interpreter)) {
    throw new ConfigError(`interpreter "${interpreter}" selects a Node.js version through nvm, which Fleet does not do`, {
      key: 'interpreter',
      hint: 'set interpreter to the path of that node binary, e.g. "/home/app/.nvm/versions/node/v18.20.0/bin/node"',
    });
  }
  const written = input.script;
  const file = path.resolve(cwd, expandHome(written));
  const stat = statOrUndefined(file);
  if (stat?.isDirectory()) {
    throw new ConfigError(`${input.scriptKey} "${written}" is a directory (${file})`, {
      key: input.scriptKey,
      hint: `point ${input.scriptKey} at the entry file, e.g. "${path.join(written, 'index.js')}"`,
    });
  }
  if (stat) {
    const notes: string[] = [];
    const detected = interpreter ?? detectInterpreter(file, stat, input.hasInterpreterArgs, notes);
    return { script: file, interpreter: detected, notes };
  }

  const pathDirs = (input.pathEnv ?? process.env.PATH ?? '').split(path.delimiter).filter(Boolean);
  const looksLikeName = !/[\\/\s]/.test(written);
  if (looksLikeName) {
    const found = which(written, pathDirs);
    if (found) {
      // A program run through another interpreter (`node npm`) needs its real path.
      const script = interpreter !== undefined && interpreter !== 'none' ? found : written;
      return { script, interpreter: interpreter ?? 'none', notes: [] };
    }
  }

  const words = written.trim().split(/\s+/);
  if (words.length > 1) {
    const first = words[0]!;
    const firstIsFile = /[\\/]/.test(first) ? statOrUndefined(path.resolve(cwd, expandHome(first))) : undefined;
    if (firstIsFile !== undefined || which(first, pathDirs)) {
      const shell = which('bash', pathDirs) ? 'bash' : 'sh';
      return { script: shell, interpreter: 'none', commandLine: written.trim(), notes: [] };
    }
  }

  throw new ConfigError(`${input.scriptKey} "${written}" not found (looked in ${file}${looksLikeName ? ' and on PATH' : ''})`, {
    key: input.scriptKey,
    hint: looksLikeName
      ? `check the path relative to cwd (${cwd}), or install "${written}" on the PATH`
      : `check the path: it is resolved against cwd (${cwd})`,
  });
}

function detectInterpreter(file: string, stat: fs.Stats, hasInterpreterArgs: boolean, notes: string[]): string {
  const ext = path.extname(file).toLowerCase();
  const byExt = INTERPRETER_BY_EXT[ext];
  if (byExt) return byExt;
  if (TYPESCRIPT_EXTS.has(ext)) {
    if (!hasInterpreterArgs) {
      notes.push(
        `script "${path.basename(file)}" is TypeScript and runs with node: that needs Node.js 22.18 or later, ` +
          'a loader in node_args (e.g. "--import tsx"), or interpreter set to "bun" or "tsx"',
      );
    }
    return 'node';
  }
  const head = readHead(file);
  const shebang = /^#!\s*(\S+)(?:[ \t]+([^\r\n]*))?/.exec(head.toString('latin1'));
  const program = shebang ? shebangProgram(shebang[1]!, shebang[2] ?? '') : undefined;
  if (program !== undefined && /^node(js)?$/.test(path.basename(program))) return 'node';
  // The kernel honours the shebang (or runs the binary) when the file is executable.
  if ((stat.mode & 0o111) !== 0) return 'none';
  if (program !== undefined) return program;
  if (head.includes(0)) {
    throw new ConfigError(`script "${file}" is a binary file but is not executable`, {
      key: 'script',
      hint: `make it executable (chmod +x ${file}) or set interpreter`,
    });
  }
  // PM2 runs any other text file with node.
  return 'node';
}

/** `/usr/bin/env -S node --x` → node; `/bin/bash -e` → /bin/bash. */
function shebangProgram(exe: string, rest: string): string {
  if (path.basename(exe) !== 'env') return exe;
  const word = rest.split(/\s+/).find((w) => w !== '' && !w.startsWith('-') && !w.includes('='));
  return word ?? exe;
}

function readHead(file: string): Buffer {
  const fd = fs.openSync(file, 'r');
  try {
    const buf = Buffer.alloc(512);
    const n = fs.readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** The first executable file named `name` in the PATH directories. */
export function which(name: string, dirs: readonly string[]): string | undefined {
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    try {
      if (fs.statSync(candidate).isFile()) {
        fs.accessSync(candidate, fs.constants.X_OK);
        return candidate;
      }
    } catch {
      // Not here; keep looking.
    }
  }
  return undefined;
}

export function expandHome(p: string): string {
  return p === '~' || p.startsWith('~/') ? path.join(os.homedir(), p.slice(1)) : p;
}

function statOrUndefined(file: string): fs.Stats | undefined {
  try {
    return fs.statSync(file);
  } catch {
    return undefined;
  }
}

/** node, /usr/bin/node, node18, nodejs: what can be a cluster primary's worker. */
export function isNodeInterpreter(interpreter: string): boolean {
  return /^node(js)?[\d.]*(\.exe)?$/i.test(path.basename(interpreter));
}
