// fleet config check <file>: load and compile as `start` would, print the
// result with every default applied, start nothing. Needs no daemon.
// Env values are shown: the file is the user's own, and checking which env
// `--env production` selects is what this command is for.
import * as path from 'node:path';
import type { Command } from 'commander';
import { fleetPaths } from '@fleet/protocol';
import { loadConfigFile } from '../config-loader';
import type { CommandContext } from '../context';
import { EXIT_OK } from '../exit-codes';
import { renderSpecFields } from '../format/app-spec';
import { specJson } from '../format/spec-json';

export interface ConfigCheckFlags {
  env?: string;
  strict?: boolean;
  json?: boolean;
}

export async function configCheck(ctx: CommandContext, file: string, flags: ConfigCheckFlags): Promise<number> {
  const { specs, warnings } = await loadConfigFile(path.resolve(ctx.cwd, file), {
    logsDir: fleetPaths(ctx.home).logsDir,
    envName: flags.env,
    strict: flags.strict,
  });
  for (const w of warnings) ctx.warn(w);
  if (flags.json) {
    ctx.json(specs.map(specJson));
    return EXIT_OK;
  }
  for (const spec of specs) {
    ctx.out(`${ctx.colors.bold(ctx.colors.cyan(spec.name))}\n`);
    ctx.out(renderSpecFields(spec, ctx.colors, { showEnvValues: true }));
    ctx.out('\n');
  }
  const n = specs.length;
  const w = warnings.length;
  ctx.out(`${ctx.colors.green('✓')} ${file}: ${n} app${n === 1 ? '' : 's'}${w ? `, ${w} warning${w === 1 ? '' : 's'}` : ''}\n`);
  return EXIT_OK;
}

export function registerConfig(program: Command, ctx: CommandContext): void {
  const config = program.command('config').description('work with config files');
  config
    .command('check')
    .description('load and validate a config file, print the compiled apps with defaults applied; starts nothing')
    .argument('<file>', 'config file (.js, .cjs, .mjs, .json, .yaml)')
    .option('--env <name>', 'use the env_<name> section')
    .option('--strict', 'unknown keys are errors, not warnings')
    .option('--json', 'machine output: the compiled AppSpec objects, every field present')
    .action(async (file: string, flags: ConfigCheckFlags) => {
      ctx.exitCode = await configCheck(ctx, file, flags);
    });
}
