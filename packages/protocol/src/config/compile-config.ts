// A whole ecosystem file → compiled apps. The file may hold `apps` as an
// array or as an object keyed by name, or be one bare app; `deploy:` is kept
// as written and never blocks a start.
import * as path from 'node:path';
import { closest, distance } from 'fastest-levenshtein';
import type { AppSpec } from '../gen/fleet/v1/app';
import { isPlainObject } from './coerce';
import { compileAppInFile } from './compile-app';
import type { CompileOptions, CompiledConfig } from './compile-options';
import { ConfigError, formatConfigMessage } from './config-error';
import { loadConfigFile } from './load-config-file';
import { classifyKey } from './pm2-keys';

const TOP_LEVEL_KEYS = ['apps', 'deploy'];

export function compileConfig(raw: unknown, opts: CompileOptions): CompiledConfig {
  const file = opts.source;
  const warnings: string[] = [];
  const { apps: rawApps, deploy } = extractApps(raw, opts, warnings);

  const apps: AppSpec[] = [];
  const seen = new Map<string, number>();
  rawApps.forEach((rawApp, i) => {
    let compiled: { spec: AppSpec; warnings: string[] };
    try {
      compiled = compileAppInFile(rawApp, opts, { deploy });
    } catch (err) {
      if (err instanceof ConfigError) throw err.withContext({ file, app: `#${i + 1}` });
      throw err;
    }
    const { spec } = compiled;
    const first = seen.get(spec.name);
    if (first !== undefined) {
      throw new ConfigError(`two apps are named "${spec.name}" (apps #${first + 1} and #${i + 1})`, {
        file,
        key: 'name',
        app: spec.name,
        hint: 'give each app its own name; an app without one is named after its script file',
      });
    }
    seen.set(spec.name, i);
    apps.push(spec);
    warnings.push(...compiled.warnings);
  });

  if (opts.envName !== undefined) {
    const section = `env_${opts.envName}`;
    const defined = rawApps.some((a) => Object.keys(a).includes(section));
    if (!defined) {
      warnings.push(
        formatConfigMessage(`--env ${opts.envName}: no app defines ${section}; apps get their env section only`, { file }),
      );
    }
  }

  // Flag warnings repeat once per app; say each once.
  const result: CompiledConfig = { apps, warnings: [...new Set(warnings)] };
  if (deploy !== undefined) result.deploy = deploy;
  return result;
}

/** Loads a config file and compiles it; relative paths in it are relative to its folder. */
export async function loadAndCompile(
  file: string,
  opts: Omit<CompileOptions, 'cwd' | 'source'> & { cwd?: string },
): Promise<CompiledConfig> {
  const abs = path.resolve(file);
  const raw = await loadConfigFile(abs);
  return compileConfig(raw, { ...opts, cwd: opts.cwd ?? path.dirname(abs), source: abs });
}

function extractApps(
  raw: unknown,
  opts: CompileOptions,
  warnings: string[],
): { apps: Record<string, unknown>[]; deploy?: unknown } {
  const file = opts.source;
  if (Array.isArray(raw)) return { apps: checkApps(raw, file) };
  if (!isPlainObject(raw)) {
    throw new ConfigError(`the config holds nothing usable (${raw === undefined ? 'nothing was exported' : `got ${typeof raw}`})`, {
      file,
      hint: 'export an object with apps, e.g. module.exports = { apps: [{ name: "api", script: "./server.js" }] }',
    });
  }
  if (!('apps' in raw)) {
    if (looksLikeApp(raw)) return { apps: [raw], deploy: raw.deploy };
    throw new ConfigError(
      Object.keys(raw).length === 0 ? 'the config holds nothing usable (an empty object)' : 'the config has no apps and no script',
      {
        file,
        key: 'apps',
        hint: 'list the apps under apps: [{ name: "api", script: "./server.js" }], or give a single app with script',
      },
    );
  }

  for (const key of Object.keys(raw)) {
    if (TOP_LEVEL_KEYS.includes(key)) continue;
    const kind = classifyKey(key);
    const detail =
      kind.kind === 'unknown'
        ? `unknown top-level key "${key}"${suggestTopLevel(key)}`
        : `top-level key "${key}" is ignored: app settings belong inside each app under apps`;
    if (opts.strict) throw new ConfigError(detail, { file, key, hint: 'a config holds apps and deploy at its top level' });
    warnings.push(formatConfigMessage(detail, { file }));
  }

  const apps = raw.apps;
  const deploy = raw.deploy;
  if (Array.isArray(apps)) return { apps: checkApps(apps, file), deploy };
  if (isPlainObject(apps)) {
    if (looksLikeApp(apps)) return { apps: [apps], deploy };
    // Keyed by name: { api: { script }, worker: { script } }; a name inside the app wins.
    const named = Object.entries(apps).map(([name, app]) => (isPlainObject(app) ? { name, ...app } : app));
    return { apps: checkApps(named, file), deploy };
  }
  throw new ConfigError(`apps must be an array of apps or an object keyed by name, got ${apps === null ? 'null' : typeof apps}`, {
    file,
    key: 'apps',
    hint: 'e.g. apps: [{ name: "api", script: "./server.js" }]',
  });
}

function checkApps(list: unknown[], file: string | undefined): Record<string, unknown>[] {
  if (list.length === 0) {
    throw new ConfigError('the config defines no apps', { file, key: 'apps', hint: 'add one: apps: [{ name: "api", script: "./server.js" }]' });
  }
  return list.map((app, i) => {
    if (isPlainObject(app)) return app;
    throw new ConfigError(`app #${i + 1} must be an object with a script, got ${app === null ? 'null' : Array.isArray(app) ? 'an array' : typeof app}`, {
      file,
      key: 'apps',
      hint: 'each app is an object such as { name: "api", script: "./server.js" }',
    });
  });
}

/** A bare app: it names what to run (script or one of its aliases). */
function looksLikeApp(obj: Record<string, unknown>): boolean {
  return Object.entries(obj).some(([key, v]) => {
    const kind = classifyKey(key);
    return kind.kind === 'app' && kind.canonical === 'script' && typeof v === 'string';
  });
}

function suggestTopLevel(key: string): string {
  const best = closest(key, TOP_LEVEL_KEYS);
  return distance(key, best) <= 2 ? ` (did you mean "${best}"?)` : '';
}
