// The one place the CLI calls the config compiler of @fleet/protocol: a config
// file or the command line's flags in, compiled AppSpecs and warnings out.
import type { AppSpec } from '@fleet/protocol';

type ConfigModule = typeof import('@fleet/protocol/config');

/** Loaded on first use: only `start` and `config check` need the compiler (and its parsers). */
function config(): ConfigModule {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return require('@fleet/protocol/config') as ConfigModule;
}
import type { Overrides } from './start-overrides';

export interface LoadOptions {
  /** Base for relative paths. Unset for a config file: its own folder, as PM2 does. */
  cwd?: string;
  logsDir: string;
  envName?: string;
  strict?: boolean;
  overrides?: Overrides;
  updateEnv?: boolean;
  shellEnv?: NodeJS.ProcessEnv;
}

export interface Compiled {
  specs: AppSpec[];
  warnings: string[];
}

export function isConfigFile(file: string): boolean {
  return config().isConfigFile(file);
}

export async function loadConfigFile(file: string, opts: LoadOptions): Promise<Compiled> {
  const result = await config().loadAndCompile(file, opts);
  return { specs: result.apps, warnings: result.warnings };
}

export function compileFromFlags(raw: Record<string, unknown>, opts: LoadOptions & { cwd: string }): Compiled {
  const { spec, warnings } = config().compileApp(raw, opts);
  return { specs: [spec], warnings };
}
