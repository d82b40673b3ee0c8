// fleet context add|use|ls|rm|current: named connections to controllers, kept
// in FLEET_HOME/contexts.json (see contexts/context-store.ts). Nothing here
// contacts a controller. Mistakes on the command line (name, address, TLS
// flags) are usage, exit 2; a token or CA file that is missing is a failed
// command, exit 1: the line was right, the file it names is wrong.
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { BadInputError } from '@fleet/protocol';
import type { CommandContext } from '../context';
import {
  addContext,
  LOCAL_CONTEXT,
  loadContexts,
  removeContext,
  resolveContext,
  useContext,
  validateContextInput,
  type ContextEntry,
  type ResolvedContext,
} from '../contexts/context-store';
import { EXIT_OK } from '../exit-codes';
import { renderTable, type Column } from '../format/table';
import { UsageError } from '../usage-error';

export interface JsonFlag {
  json?: boolean;
}

export interface ContextAddFlags extends JsonFlag {
  controller: string;
  tokenFile?: string;
  tlsCa?: string;
  insecure?: boolean;
  serverName?: string;
  use?: boolean;
}

/** One context as `--json` shows it. The key set is the contract: add keys, never rename. */
export interface ContextJson {
  name: string;
  current: boolean;
  controller: string;
  tokenFile: string | null;
  tlsCa: string | null;
  insecure: boolean;
  serverName: string | null;
}

/** Where commands go, in words: "controller prod (ctl.example:7070)" or "local daemon (~/.fleet)". */
export function describeTarget(home: string, env: NodeJS.ProcessEnv): string {
  return describeResolved(resolveContext(home, env), home);
}

export function contextAdd(ctx: CommandContext, name: string, flags: ContextAddFlags): number {
  const input: ContextEntry = {
    controller: flags.controller,
    tokenFile: flags.tokenFile,
    tlsCa: flags.tlsCa,
    insecure: flags.insecure,
    serverName: flags.serverName,
  };
  asUsage(() => validateContextInput(name, input));
  const { entry, replaced } = addContext(ctx.home, name, input, ctx.cwd);
  if (flags.use) useContext(ctx.home, name);
  if (flags.json) {
    ctx.json({ replaced, context: contextJson(name, entry, flags.use === true) });
    return EXIT_OK;
  }
  ctx.out(`${replaced ? 'updated' : 'added'} context ${ctx.colors.cyan(name)} (${entry.controller})\n`);
  if (flags.use) {
    ctx.out(`commands now go to controller ${name} (${entry.controller})\n`);
    warnEnvOverride(ctx, name);
  } else {
    ctx.out(`use it with: fleet context use ${name}\n`);
  }
  return EXIT_OK;
}

export function contextUse(ctx: CommandContext, name: string, flags: JsonFlag): number {
  const entry = useContext(ctx.home, name);
  if (flags.json) {
    ctx.json({ name, controller: entry?.controller ?? null });
    return EXIT_OK;
  }
  const target = entry ? `controller ${name} (${entry.controller})` : `the local daemon (${tildePath(ctx.home)})`;
  ctx.out(`commands now go to ${target}\n`);
  warnEnvOverride(ctx, name);
  return EXIT_OK;
}

export function contextList(ctx: CommandContext, flags: JsonFlag): number {
  const file = loadContexts(ctx.home);
  const current = resolveContext(ctx.home, ctx.env).name;
  const rows = Object.keys(file.contexts)
    .sort()
    .map((name) => contextJson(name, file.contexts[name], name === current));
  if (flags.json) {
    ctx.json({ current, contexts: rows });
    return EXIT_OK;
  }
  if (rows.length === 0) {
    ctx.out('no contexts; commands go to the local daemon. Add one with:\n');
    ctx.out('  fleet context add prod --controller ctl.example:7070 --token-file ~/.fleet/prod.token\n');
    return EXIT_OK;
  }
  const c = ctx.colors;
  const columns: Column[] = [{ header: '' }, { header: 'name' }, { header: 'controller' }, { header: 'tls' }, { header: 'token' }];
  ctx.out(
    renderTable(
      columns.map((col) => ({ ...col, header: c.bold(col.header) })),
      rows.map((r) => [r.current ? '*' : '', c.cyan(r.name), r.controller, tlsWord(r), r.tokenFile ?? '-']),
    ),
  );
  return EXIT_OK;
}

export function contextRemove(ctx: CommandContext, name: string, flags: JsonFlag): number {
  if (name === LOCAL_CONTEXT) {
    throw new UsageError(`'${LOCAL_CONTEXT}' is the local daemon, not a saved context`, 'remove a saved context instead (see fleet context ls)');
  }
  const { wasCurrent } = removeContext(ctx.home, name);
  if (flags.json) {
    ctx.json({ name, wasCurrent });
    return EXIT_OK;
  }
  ctx.out(`removed context ${name}\n`);
  if (wasCurrent) ctx.out(`it was current; commands now go to the local daemon (${tildePath(ctx.home)})\n`);
  return EXIT_OK;
}

export function contextCurrent(ctx: CommandContext, flags: JsonFlag): number {
  const r = resolveContext(ctx.home, ctx.env);
  if (flags.json) {
    ctx.json({ name: r.name, source: r.source, controller: r.entry?.controller ?? null, description: describeResolved(r, ctx.home) });
    return EXIT_OK;
  }
  const why = { env: 'from FLEET_CONTEXT', file: 'set by fleet context use', default: 'no context in use' }[r.source];
  ctx.out(`${describeResolved(r, ctx.home)} ${ctx.colors.gray(`(${why})`)}\n`);
  return EXIT_OK;
}

export function registerContext(program: Command, ctx: CommandContext): void {
  const context = program
    .command('context')
    .description('named connections to controllers: where fleet commands go (kubectl style)');
  context
    .command('add')
    .description('save (or overwrite) a controller connection; contacts nothing')
    .argument('<name>', "letters, digits, '.', '_', '-'; 'local' is reserved")
    .requiredOption('--controller <host:port>', 'address of the controller, e.g. ctl.example:7070')
    .option('--token-file <file>', 'file holding the API token (FLEET_TOKEN overrides it)')
    .option('--tls-ca <file>', 'PEM CA bundle to verify the controller (default: system roots)')
    .option('--insecure', 'plaintext, no TLS: the token travels in clear (trusted networks only)')
    .option('--server-name <name>', 'name the controller certificate is checked against')
    .option('--use', 'make it the current context')
    .option('--json', 'machine output: {replaced, context}')
    .action((name: string, flags: ContextAddFlags) => {
      ctx.exitCode = contextAdd(ctx, name, flags);
    });
  context
    .command('use')
    .description(`send commands to a saved context, or to the local daemon with '${LOCAL_CONTEXT}'`)
    .argument('<name>', `a saved context, or ${LOCAL_CONTEXT}`)
    .option('--json', 'machine output: {name, controller}')
    .action((name: string, flags: JsonFlag) => {
      ctx.exitCode = contextUse(ctx, name, flags);
    });
  context
    .command('ls')
    .alias('list')
    .description('list saved contexts; * marks the one in use')
    .option('--json', 'machine output: {current, contexts: [...]}')
    .action((flags: JsonFlag) => {
      ctx.exitCode = contextList(ctx, flags);
    });
  context
    .command('rm')
    .alias('remove')
    .description('delete a saved context (the token file is left alone)')
    .argument('<name>', 'a saved context')
    .option('--json', 'machine output: {name, wasCurrent}')
    .action((name: string, flags: JsonFlag) => {
      ctx.exitCode = contextRemove(ctx, name, flags);
    });
  context
    .command('current')
    .description('where commands go now, and why (FLEET_CONTEXT, the saved choice, or the default)')
    .option('--json', 'machine output: {name, source, controller, description}')
    .action((flags: JsonFlag) => {
      ctx.exitCode = contextCurrent(ctx, flags);
    });
}

function describeResolved(r: ResolvedContext, home: string): string {
  return r.entry ? `controller ${r.name} (${r.entry.controller})` : `local daemon (${tildePath(home)})`;
}

function contextJson(name: string, e: ContextEntry, current: boolean): ContextJson {
  return {
    name,
    current,
    controller: e.controller,
    tokenFile: e.tokenFile ?? null,
    tlsCa: e.tlsCa ?? null,
    insecure: e.insecure === true,
    serverName: e.serverName ?? null,
  };
}

function tlsWord(r: ContextJson): string {
  const base = r.insecure ? 'insecure' : r.tlsCa ? `ca ${r.tlsCa}` : 'system roots';
  return r.serverName ? `${base}, as ${r.serverName}` : base;
}

/** The flag checks that need no disk throw BadInputError; on the command line they are usage (exit 2). */
function asUsage<T>(check: () => T): T {
  try {
    return check();
  } catch (err) {
    if (err instanceof BadInputError) throw new UsageError(err.message, err.hint);
    throw err;
  }
}

/** `use` changed the file, but FLEET_CONTEXT in this shell still wins. */
function warnEnvOverride(ctx: CommandContext, name: string): void {
  const fromEnv = ctx.env.FLEET_CONTEXT?.trim();
  if (fromEnv && fromEnv !== name) {
    ctx.warn(`FLEET_CONTEXT=${fromEnv} is set and overrides this in this shell; unset it to use ${name}`);
  }
}

function tildePath(p: string): string {
  const home = os.homedir();
  return p === home || p.startsWith(home + path.sep) ? `~${p.slice(home.length)}` : p;
}
