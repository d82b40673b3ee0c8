// One app as written in an ecosystem file (or as CLI flags) → a compiled
// AppSpec with every default applied and every path absolute.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ExecMode, type AppSpec } from '../gen/fleet/v1/app';
import { deriveName, validateName } from './app-name';
import { buildEnv } from './build-env';
import { isPlainObject, readArgs, readBoolean, readInteger, readString } from './coerce';
import type { CompileOptions } from './compile-options';
import { ConfigError, formatConfigMessage } from './config-error';
import { DEFAULTS } from './defaults';
import { parseExecMode, resolveInstances } from './exec-mode';
import { parseKillSignal } from './kill-signal';
import { buildLogSpec } from './log-spec';
import { normalizeApp, type AppKey, type KeyedValue, type NormalizedApp } from './pm2-keys';
import { expandHome, isNodeInterpreter, resolveScript } from './resolve-script';
import { buildRestartSpec } from './restart-spec';
import { parseDuration } from './units';
import { buildWatchSpec } from './watch-spec';

/** What compileConfig knows about the whole file that one app needs. */
export interface AppFileContext {
  /** The file's `deploy:` section. */
  deploy?: unknown;
}

/** One app, alone: no file-level deploy section applies. */
export function compileApp(raw: Record<string, unknown>, opts: CompileOptions): { spec: AppSpec; warnings: string[] } {
  return compileAppInFile(raw, opts, {});
}

export function compileAppInFile(
  raw: Record<string, unknown>,
  opts: CompileOptions,
  file: AppFileContext,
): { spec: AppSpec; warnings: string[] } {
  let appLabel: string | undefined;
  try {
    return compile(raw, opts, file, (name) => (appLabel = name));
  } catch (err) {
    if (err instanceof ConfigError) throw err.withContext({ file: opts.source, app: appLabel });
    throw err;
  }
}

function compile(
  raw: Record<string, unknown>,
  opts: CompileOptions,
  file: AppFileContext,
  named: (name: string) => void,
): { spec: AppSpec; warnings: string[] } {
  const app = normalizeApp(raw);
  const overrideWarnings = applyOverrides(app, opts.overrides);
  const get = (key: AppKey): KeyedValue | undefined => {
    const e = app.values[key];
    return e === undefined || e.value === undefined || e.value === null ? undefined : e;
  };

  // The name comes first so that every later message can say which app it is about.
  const scriptEntry = get('script');
  const nameEntry = get('name');
  let name = nameEntry ? readString(nameEntry.value, nameEntry.key).trim() : '';
  const derived = name === '';
  if (derived && typeof scriptEntry?.value === 'string') name = deriveName(scriptEntry.value.trim());
  if (name !== '') named(name);
  const where = (detail: string): string => formatConfigMessage(detail, { file: opts.source, app: name || undefined });
  const warnings = [...overrideWarnings];

  checkUnknownKeys(app, opts.strict ?? false, where, warnings);
  warnings.push(...app.notes.map(where));

  if (!scriptEntry) {
    throw new ConfigError('no script: every app needs one', {
      key: 'script',
      hint: 'add script: "./app.js" (a file relative to cwd) or a command on the PATH such as "npm" with args "start"',
    });
  }
  const script = readString(scriptEntry.value, scriptEntry.key).trim();
  const append = get('append_env_to_name');
  if (append && readBoolean(append.value, append.key) && opts.envName) {
    name = `${name}-${opts.envName}`;
    named(name);
  }
  validateName(name, nameEntry?.key ?? 'name', derived);

  const cwd = resolveCwd(get('cwd'), opts.cwd);

  const envSection = opts.envName === undefined ? undefined : app.envSections.get(opts.envName);
  const port = get('port');
  const env = buildEnv({
    env: get('env'),
    envSection,
    shellEnv: opts.updateEnv ? (opts.shellEnv ?? process.env) : undefined,
    filterEnv: get('filter_env'),
    port: port ? String(readInteger(port.value, port.key, 1)) : undefined,
  });

  const interpreterEntry = get('exec_interpreter');
  const explicitInterpreter = interpreterEntry ? readString(interpreterEntry.value, interpreterEntry.key).trim() : '';
  const interpreterArgsEntry = get('node_args');
  const interpreterArgs = interpreterArgsEntry ? readArgs(interpreterArgsEntry.value, interpreterArgsEntry.key) : [];
  const resolved = resolveScript({
    script,
    scriptKey: scriptEntry.key,
    cwd,
    interpreter: explicitInterpreter === '' ? undefined : explicitInterpreter,
    hasInterpreterArgs: interpreterArgs.length > 0,
    pathEnv: env.PATH ?? opts.shellEnv?.PATH ?? process.env.PATH,
  });
  warnings.push(...resolved.notes.map(where));

  const argsEntry = get('args');
  let args = argsEntry ? readArgs(argsEntry.value, argsEntry.key) : [];
  if (resolved.commandLine !== undefined) {
    if (args.length > 0) {
      warnings.push(where(`${argsEntry!.key} is ignored: ${scriptEntry.key} "${script}" is a command line, run as ${resolved.script} -c`));
    }
    args = ['-c', resolved.commandLine];
  }

  const instancesEntry = get('instances');
  const instances = instancesEntry
    ? resolveInstances(instancesEntry.value, instancesEntry.key, opts.cpuCount ?? os.availableParallelism())
    : DEFAULTS.instances;
  const modeEntry = get('exec_mode');
  const isNode = isNodeInterpreter(resolved.interpreter);
  // PM2's rule: a Node.js app that asks for instances without naming a mode is clustered.
  const execMode = modeEntry
    ? parseExecMode(modeEntry.value, modeEntry.key)
    : instancesEntry && isNode
      ? ExecMode.EXEC_MODE_CLUSTER
      : DEFAULTS.execMode;
  if (execMode === ExecMode.EXEC_MODE_CLUSTER && !isNode) {
    throw clusterNeedsNode(modeEntry?.key ?? 'exec_mode', script, resolved.interpreter);
  }

  // Python buffers stdout when it is not a terminal; PM2 turns that off so logs arrive as written.
  const program = resolved.interpreter === 'none' ? resolved.script : resolved.interpreter;
  if (/python/i.test(path.basename(program)) && env.PYTHONUNBUFFERED === undefined) env.PYTHONUNBUFFERED = '1';

  const health = get('health');
  if (health) {
    warnings.push(where(`key "${health.key}" is not applied yet: Fleet does not run health checks from the app config`));
  }

  const str = (key: AppKey, fallback: string): string => {
    const e = get(key);
    return e ? readString(e.value, e.key).trim() || fallback : fallback;
  };
  const duration = (key: AppKey, fallback: number): number => {
    const e = get(key);
    return e ? parseDuration(e.value, e.key) : fallback;
  };
  const waitReady = get('wait_ready');
  const killSignal = get('kill_signal');

  const spec: AppSpec = {
    name,
    script: resolved.script,
    args,
    cwd,
    interpreter: resolved.interpreter,
    interpreterArgs,
    execMode,
    instances,
    env,
    instanceVar: str('instance_var', DEFAULTS.instanceVar),
    incrementVar: str('increment_var', DEFAULTS.incrementVar),
    waitReady: waitReady ? readBoolean(waitReady.value, waitReady.key) : DEFAULTS.waitReady,
    listenTimeoutMs: duration('listen_timeout', DEFAULTS.listenTimeoutMs),
    killTimeoutMs: duration('kill_timeout', DEFAULTS.killTimeoutMs),
    killSignal: killSignal ? parseKillSignal(killSignal.value, killSignal.key) : DEFAULTS.killSignal,
    restart: buildRestartSpec(get),
    log: buildLogSpec(get, { cwd, logsDir: opts.logsDir, name, execMode, instances }),
    watch: buildWatchSpec(get),
    source: opts.source ? path.resolve(opts.source) : '',
    deployJson: deployJson(get('deploy')?.value ?? file.deploy, where, warnings),
    release: 0,
  };
  return { spec, warnings };
}

/**
 * CLI flags win over the file, key by key. Flags arrive in PM2's snake_case
 * but go through the same spelling rules; `env` is merged, not replaced, so a
 * flag can add one variable.
 */
function applyOverrides(app: NormalizedApp, overrides: Record<string, unknown> | undefined): string[] {
  if (!overrides) return [];
  const present = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  const flags = normalizeApp(present);
  for (const [key, entry] of Object.entries(flags.values) as [AppKey, KeyedValue][]) {
    const base = app.values[key];
    if (key === 'env' && isPlainObject(base?.value) && isPlainObject(entry.value)) {
      app.values.env = { key: base.key, value: { ...base.value, ...entry.value } };
    } else {
      app.values[key] = entry;
    }
  }
  for (const [envName, entry] of flags.envSections) app.envSections.set(envName, entry);
  return [
    ...flags.notes.map((n) => `command line: ${n}`),
    ...flags.unknown.map((u) => `command line: unknown option "${u.key}"${u.suggestion ? ` (did you mean "${u.suggestion}"?)` : ''}`),
  ];
}

function checkUnknownKeys(app: NormalizedApp, strict: boolean, where: (s: string) => string, warnings: string[]): void {
  const described = app.unknown.map(
    (u) => `unknown key "${u.key}"${u.suggestion ? ` (did you mean "${u.suggestion}"?)` : ''}`,
  );
  if (described.length === 0) return;
  if (strict) {
    const first = app.unknown[0]!;
    throw new ConfigError(described.join(', '), {
      key: first.key,
      hint: first.suggestion
        ? `rename "${first.key}" to "${first.suggestion}"`
        : `remove "${first.key}" or check its spelling against PM2's ecosystem keys`,
    });
  }
  warnings.push(...described.map(where));
}

function resolveCwd(entry: KeyedValue | undefined, base: string): string {
  const cwd = entry ? path.resolve(base, expandHome(readString(entry.value, entry.key).trim())) : path.resolve(base);
  let isDir = false;
  try {
    isDir = fs.statSync(cwd).isDirectory();
  } catch {
    // Reported below.
  }
  if (!isDir) {
    const key = entry?.key ?? 'cwd';
    throw new ConfigError(`${key} "${cwd}" is not a directory`, {
      key,
      hint: entry ? `${key} is resolved against the config file's folder (${base}); check the path` : 'run from an existing directory',
    });
  }
  return cwd;
}

function clusterNeedsNode(key: string, script: string, interpreter: string): ConfigError {
  const runsWith = interpreter === 'none' ? 'runs as a program of its own' : `runs with "${interpreter}"`;
  return new ConfigError(`${key} "cluster" needs a Node.js script, but "${script}" ${runsWith}`, {
    key,
    hint:
      interpreter === 'none'
        ? `point script at the Node.js file the command starts (e.g. "./dist/server.js"), or use ${key}: "fork" (instances still applies)`
        : `use ${key}: "fork" (instances still applies), or point script at a Node.js file`,
  });
}

/** The deploy section as JSON for the deploy commands; a section that cannot be serialised never blocks a start. */
function deployJson(deploy: unknown, where: (s: string) => string, warnings: string[]): string {
  if (deploy === undefined || deploy === null) return '';
  try {
    return JSON.stringify(deploy) ?? '';
  } catch (err) {
    warnings.push(where(`deploy section cannot be stored as JSON (${err instanceof Error ? err.message : String(err)}); deploy commands will not see it`));
    return '';
  }
}
