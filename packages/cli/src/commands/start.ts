// fleet start <script|config>: compile here (so a bad file fails before the
// daemon is touched), then hand the compiled specs to the daemon.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Command } from 'commander';
import { fleetPaths, HOST_LOGS_DIR } from '@fleet/protocol';
import { compileFromFlags, isConfigFile, loadConfigFile, type Compiled } from '../config-loader';
import type { CommandContext } from '../context';
import { addHostOptions, whereOf } from '../host-options';
import { EXIT_FAILED, EXIT_OK } from '../exit-codes';
import { collectList, parseCount, parseInstances, parseMs, parseSize } from '../flag-parsers';
import { processRows, renderProcessTable } from '../format/process-rows';
import { renderResults } from '../format/results';
import { startOverrides, type StartFlags } from '../start-overrides';
import { lifecycle } from './lifecycle';

export async function compileStart(ctx: CommandContext, target: string, args: string[], flags: StartFlags): Promise<Compiled> {
  const overrides = startOverrides(flags, args);
  const cwdFlag = flags.cwd === undefined ? undefined : path.resolve(ctx.cwd, flags.cwd);
  if (cwdFlag !== undefined) overrides.cwd = cwdFlag;
  const common = {
    // For a controller, each host puts default logs in its own FLEET_HOME.
    logsDir: ctx.controllerTarget() ? HOST_LOGS_DIR : fleetPaths(ctx.home).logsDir,
    strict: flags.strict,
    updateEnv: flags.updateEnv,
    shellEnv: ctx.env,
  };
  if (isConfigFile(target)) {
    // Relative paths in a config file are relative to the file, unless --cwd says otherwise.
    return loadConfigFile(path.resolve(ctx.cwd, target), { ...common, cwd: cwdFlag, envName: flags.env, overrides });
  }
  // A file next to the shell is meant even with --cwd elsewhere; otherwise it may
  // be a program on PATH (npm, python3), which the compiler resolves.
  const local = path.resolve(ctx.cwd, target);
  const script = fs.existsSync(local) ? local : target;
  return compileFromFlags({ ...overrides, script }, { ...common, cwd: cwdFlag ?? ctx.cwd });
}

/**
 * `fleet start api` where api is a registered app (PM2 users type it): no file of
 * that name here, and not a config file — start the app itself.
 */
async function registeredApp(ctx: CommandContext, target: string): Promise<boolean> {
  if (isConfigFile(target) || fs.existsSync(path.resolve(ctx.cwd, target))) return false;
  if (ctx.controllerTarget()) {
    const api = await ctx.connect();
    const { apps } = await api.list({ fresh: false, summary: true, where: undefined });
    return apps.some((a) => a.spec?.name === target);
  }
  const conn = await ctx.connectIfRunning();
  if (conn) {
    const { apps } = await conn.api.list({ fresh: false, summary: true, where: undefined });
    return apps.some((a) => a.spec?.name === target || String(a.appId) === target);
  }
  // No daemon: do not start one just to ask; its state file knows the apps it would bring back.
  try {
    const state = JSON.parse(fs.readFileSync(fleetPaths(ctx.home).stateFile, 'utf8')) as {
      apps?: { id?: number; spec?: { name?: string } }[];
    };
    return (state.apps ?? []).some((a) => a.spec?.name === target || String(a.id) === target);
  } catch {
    return false;
  }
}

export async function start(ctx: CommandContext, target: string, args: string[], flags: StartFlags): Promise<number> {
  const where = whereOf(ctx, flags);
  if (await registeredApp(ctx, target)) return lifecycle(ctx, 'restart', target, { json: flags.json, hosts: flags.hosts, selector: flags.selector });
  const { specs, warnings } = await compileStart(ctx, target, args, flags);
  for (const w of warnings) ctx.warn(w);

  const api = await ctx.connect();
  const res = await api.start({ apps: specs, updateEnv: flags.updateEnv === true, where });
  const apps = res.apps.length > 0 ? res.apps : (await api.list({ fresh: false, summary: true, where })).apps;
  const names = new Set(specs.map((s) => s.name));
  const rows = processRows(apps.filter((a) => names.has(a.spec?.name ?? '')));
  const failed = res.results.some((r) => !r.ok);

  if (flags.json) {
    ctx.json({ results: res.results, processes: rows, warnings });
  } else {
    const lines = renderResults(res.results, 'started', ctx.colors, ctx.remote);
    ctx.out(lines.out);
    ctx.err(renderResults(res.results.filter((r) => !r.ok), 'started', ctx.errColors, ctx.remote).err);
    if (rows.length > 0) ctx.out(renderProcessTable(rows, ctx.colors, { showHost: ctx.remote }));
  }
  return failed ? EXIT_FAILED : EXIT_OK;
}

export function registerStart(program: Command, ctx: CommandContext): void {
  addHostOptions(program.command('start'))
    .description('start a script, or every app of a config file (PM2 ecosystem files work as they are)')
    .argument('<script|config>', 'a script, a program on PATH, or a config file (.js, .cjs, .mjs, .json, .yaml)')
    .argument('[args...]', 'arguments for the app, after --')
    .option('--name <name>', 'app name (default: the script name)')
    .option('-i, --instances <n>', "instances: a number, 'max' or -1; implies cluster mode", parseInstances)
    .option('--env <name>', 'use the env_<name> section of the config file')
    .option('--max-memory-restart <size>', 'restart an instance whose memory passes this (200M, 1G)', parseSize)
    .option('--wait-ready', "online only after the app calls process.send('ready')")
    .option('--listen-timeout <ms>', 'how long to wait for ready or listening', parseMs)
    .option('--kill-timeout <ms>', 'SIGKILL this long after the stop signal', parseMs)
    .option('--cwd <dir>', 'working directory of the app')
    .option('--interpreter <program>', 'program that runs the script (node, python3, none)')
    .option('--node-args <args>', 'arguments for node, e.g. "--max-old-space-size=512"')
    .option('--restart-delay <ms>', 'wait before restarting a crashed instance', parseMs)
    .option('--exp-backoff-restart-delay <ms>', 'exponential backoff between restarts, starting here', parseMs)
    .option('--max-restarts <n>', 'unstable restarts before the app is errored', parseCount)
    .option('--min-uptime <ms>', 'a run shorter than this counts as a crash', parseMs)
    .option('--no-autorestart', 'do not restart instances that exit')
    .option('--cron-restart <expr>', 'restart on a cron schedule')
    .option('--log-date-format <format>', 'prefix log lines with a timestamp (YYYY-MM-DD HH:mm:ss)')
    .option('--merge-logs', 'all instances write to the same log files')
    .option('--watch [paths]', 'reload when files change (comma-separated paths; default: cwd)')
    .option('--ignore-watch <paths>', 'paths not watched (comma-separated, repeatable)', collectList)
    .option('--update-env', "give the app this shell's env")
    .option('--strict', 'unknown keys in the config file are errors, not warnings')
    .option('--json', 'machine output: results, processes and warnings')
    .action(async (target: string, args: string[], flags: StartFlags) => {
      ctx.exitCode = await start(ctx, target, args, flags);
    });
}
