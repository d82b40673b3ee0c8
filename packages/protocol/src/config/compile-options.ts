// What the CLI and the agent pass to the compiler besides the config itself.
import type { AppSpec } from '../gen/fleet/v1/app';

export interface CompileOptions {
  /** Base for relative paths: the config file's folder, or process.cwd() for a bare script. */
  cwd: string;
  /** FLEET_HOME/logs, for the default log paths. */
  logsDir: string;
  /** --env NAME: merge env_NAME over env. */
  envName?: string;
  /** Unknown keys are errors instead of warnings. */
  strict?: boolean;
  /** CLI flags as PM2 snake_case keys, applied over each app's values (only keys present and defined). */
  overrides?: Record<string, unknown>;
  /** Include shellEnv in spec.env (PM2 --update-env); otherwise the app gets only its config env. */
  updateEnv?: boolean;
  /** @default process.env — the environment --update-env copies. */
  shellEnv?: Record<string, string | undefined>;
  /** @default os.availableParallelism() — for instances "max" and negative counts. */
  cpuCount?: number;
  /** The config file path, for messages and spec.source; unset for the command line. */
  source?: string;
}

export interface CompiledConfig {
  apps: AppSpec[];
  warnings: string[];
  /** The file's `deploy:` section as written; never validated here. */
  deploy?: unknown;
}
