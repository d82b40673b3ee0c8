// fleet startup: a systemd unit that runs the agent at boot. KillMode=process:
// stopping or restarting the unit ends the agent only; runners and their apps
// live in their own process groups and keep serving, and the next agent
// re-adopts them.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Command } from 'commander';
import { OperationFailedError, resolveHome } from '@fleet/protocol';
import type { CommandContext } from '../context';
import { EXIT_OK } from '../exit-codes';

export const UNIT_NAME = 'fleet-agent';
export const UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}.service`;

export interface UnitOptions {
  nodePath: string;
  binPath: string;
  home: string;
  user: string;
  /** PATH for the agent, so apps started at boot find npm, node and friends. */
  pathEnv: string;
}

export function systemdUnit(o: UnitOptions): string {
  return [
    '[Unit]',
    'Description=Fleet agent: runs and supervises Node.js apps',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `User=${o.user}`,
    `Environment=${quote(`FLEET_HOME=${o.home}`)}`,
    `Environment=${quote(`PATH=${o.pathEnv}`)}`,
    `ExecStart=${quote(o.nodePath)} ${quote(o.binPath)} agent`,
    'Restart=always',
    'RestartSec=1',
    '# Stop or restart the agent only: apps keep running and the next agent re-adopts them.',
    'KillMode=process',
    'LimitNOFILE=infinity',
    '',
    '[Install]',
    'WantedBy=multi-user.target',
    '',
  ].join('\n');
}

/** systemd splits on whitespace unless the word is double-quoted. */
function quote(word: string): string {
  return /[\s"\\]/.test(word) ? `"${word.replace(/(["\\])/g, '\\$1')}"` : word;
}

export interface StartupDeps {
  unitPath: string;
  /** Home directory of a user from the password database; undefined when unknown. */
  homeOf(user: string): string | undefined;
  which(program: string, env: NodeJS.ProcessEnv): string | undefined;
  writeFile(file: string, text: string): void;
  exec(program: string, args: string[]): void;
  currentUser(): string;
}

export const defaultStartupDeps: StartupDeps = {
  unitPath: UNIT_PATH,
  homeOf: (user) => {
    try {
      for (const line of fs.readFileSync('/etc/passwd', 'utf8').split('\n')) {
        const fields = line.split(':');
        if (fields[0] === user && fields[5]) return fields[5];
      }
    } catch {
      // No passwd file (containers, other systems): the caller falls back.
    }
    return undefined;
  },
  which: (program, env) => {
    for (const dir of (env.PATH ?? '').split(path.delimiter).filter(Boolean)) {
      const full = path.join(dir, program);
      try {
        fs.accessSync(full, fs.constants.X_OK);
        return full;
      } catch {
        // not here
      }
    }
    return undefined;
  },
  writeFile: (file, text) => {
    // Atomic: a half-written unit must never be what systemd reads.
    const tmp = `${file}.${process.pid}.tmp`;
    fs.writeFileSync(tmp, text, { mode: 0o644 });
    fs.renameSync(tmp, file);
  },
  exec: (program, args) => {
    execFileSync(program, args, { stdio: 'pipe' });
  },
  currentUser: () => os.userInfo().username,
};

export interface StartupFlags {
  install?: boolean;
  user?: string;
  json?: boolean;
}

/** The CLI's own bin, symlinks resolved, so the unit survives `npm install` moving .bin links. */
export function fleetBinPath(): string {
  // From the package root, so it is right from the bundle (dist/) and from dist/src/commands alike.
  const bin = path.join(path.dirname(require.resolve('@fleet/cli/package.json')), 'bin', 'fleet.js');
  try {
    return fs.realpathSync(bin);
  } catch {
    return bin;
  }
}

export function unitOptions(ctx: CommandContext, flags: StartupFlags, deps: StartupDeps): UnitOptions {
  // Under sudo the unit is for the person who typed it, not for root.
  const user = flags.user ?? ctx.env.SUDO_USER ?? deps.currentUser();
  const userHome = ctx.env.FLEET_HOME ? undefined : deps.homeOf(user);
  const home = userHome ? path.join(userHome, '.fleet') : resolveHome(ctx.env);
  const nodeDir = path.dirname(process.execPath);
  const pathDirs = (ctx.env.PATH ?? '/usr/local/bin:/usr/bin:/bin').split(path.delimiter);
  const pathEnv = (pathDirs.includes(nodeDir) ? pathDirs : [nodeDir, ...pathDirs]).join(path.delimiter);
  return { nodePath: process.execPath, binPath: fleetBinPath(), home, user, pathEnv };
}

export async function startup(ctx: CommandContext, flags: StartupFlags, deps: StartupDeps = defaultStartupDeps): Promise<number> {
  const opts = unitOptions(ctx, flags, deps);
  const unit = systemdUnit(opts);
  if (flags.install) install(unit, ctx, deps);
  if (flags.json) {
    ctx.json({ unit, path: deps.unitPath, installed: flags.install === true, user: opts.user, home: opts.home });
  } else if (flags.install) {
    ctx.out(`installed ${deps.unitPath} and enabled ${UNIT_NAME}\nstart it now with: sudo systemctl start ${UNIT_NAME}\n`);
  } else {
    ctx.out(unit);
    ctx.err(`# install it with: sudo env PATH=$PATH fleet startup --install --user ${opts.user}\n`);
  }
  return EXIT_OK;
}

function install(unit: string, ctx: CommandContext, deps: StartupDeps): void {
  const systemctl = deps.which('systemctl', ctx.env);
  if (!systemctl) {
    throw new OperationFailedError('systemctl not found: this system does not seem to run systemd', {
      hint: 'print the unit with "fleet startup" and set up the agent with your init system by hand',
    });
  }
  try {
    deps.writeFile(deps.unitPath, unit);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new OperationFailedError(`cannot write ${deps.unitPath}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (err as Error).message}`, {
      hint: 'run it as root: sudo env PATH=$PATH fleet startup --install --user <you>',
      cause: err,
    });
  }
  for (const args of [['daemon-reload'], ['enable', UNIT_NAME]]) {
    try {
      deps.exec(systemctl, args);
    } catch (err) {
      const stderr = String((err as { stderr?: unknown }).stderr ?? '').trim();
      throw new OperationFailedError(`systemctl ${args.join(' ')} failed${stderr ? `: ${stderr}` : ''}`, {
        hint: `the unit is written to ${deps.unitPath}; run the command by hand to see why`,
        cause: err,
      });
    }
  }
}

export function registerStartup(program: Command, ctx: CommandContext): void {
  program
    .command('startup')
    .description('print (or --install) a systemd unit that runs the agent at boot')
    .option('--install', `write ${UNIT_PATH}, then systemctl daemon-reload and enable`)
    .option('--user <name>', 'user the agent runs as (default: you, or SUDO_USER under sudo)')
    .option('--json', 'machine output: {unit, path, installed, user, home}')
    .action(async (flags: StartupFlags) => {
      ctx.exitCode = await startup(ctx, flags);
    });
}
