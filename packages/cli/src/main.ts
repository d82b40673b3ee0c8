// The `fleet` program: builds the commands, runs one, and turns its outcome
// into an exit code (see exit-codes.ts). Only run(), the outermost wrapper,
// touches process.exit.
import { Command } from 'commander';
import { FLEET_VERSION } from '@fleet/protocol';
import { CommandContext, type CliIo } from './context';
import { reportError } from './exit-codes';
import { registerAgent } from './commands/agent';
import { registerConfig } from './commands/config-check';
import { registerContext } from './commands/context';
import { registerController } from './commands/controller';
import { registerHosts } from './commands/hosts';
import { registerToken } from './commands/token';
import { registerDescribe } from './commands/describe';
import { registerDev } from './commands/dev';
import { registerDeploy } from './commands/deploy';
import { registerReleases } from './commands/releases';
import { registerFlush } from './commands/flush';
import { registerKill } from './commands/kill';
import { registerLifecycle } from './commands/lifecycle';
import { registerList } from './commands/list';
import { registerLogs } from './commands/logs';
import { registerMonit } from './commands/monit';
import { registerPing } from './commands/ping';
import { registerResurrect } from './commands/resurrect';
import { registerSave } from './commands/save';
import { registerScale } from './commands/scale';
import { registerStart } from './commands/start';
import { registerStartup } from './commands/startup';

export function buildProgram(ctx: CommandContext): Command {
  const program = new Command('fleet')
    .description('run Node.js services on one server or many; a PM2 replacement')
    .version(FLEET_VERSION, '-v, --version')
    // Options belong to the command they follow: `fleet deploy status --json` is status's --json, not deploy's.
    .enablePositionalOptions()
    // Errors become exceptions that main maps to exit code 2, instead of commander exiting.
    .exitOverride()
    .configureOutput({
      writeOut: (s) => ctx.out(s),
      writeErr: (s) => ctx.err(s),
    });
  // Registered after exitOverride/configureOutput so every subcommand inherits them.
  registerStart(program, ctx);
  registerList(program, ctx);
  registerDescribe(program, ctx);
  registerLifecycle(program, ctx);
  registerScale(program, ctx);
  registerLogs(program, ctx);
  registerMonit(program, ctx);
  registerFlush(program, ctx);
  registerConfig(program, ctx);
  registerSave(program, ctx);
  registerResurrect(program, ctx);
  registerStartup(program, ctx);
  registerKill(program, ctx);
  registerPing(program, ctx);
  registerAgent(program, ctx);
  registerController(program, ctx);
  registerHosts(program, ctx);
  registerContext(program, ctx);
  registerToken(program, ctx);
  registerDeploy(program, ctx);
  registerReleases(program, ctx);
  registerDev(program, ctx);
  addUsageHints(program, 'fleet');
  return program;
}

/** After a usage error, point at the right --help: `  fix: run "fleet start --help"`. */
function addUsageHints(cmd: Command, path: string): void {
  cmd.showHelpAfterError(`  fix: run "${path} --help" for usage`);
  for (const sub of cmd.commands) addUsageHints(sub, `${path} ${sub.name()}`);
}

/** Runs one command line (without node and script) and returns its exit code. Never exits. */
export async function runCli(args: string[], io: CliIo): Promise<number> {
  const ctx = new CommandContext(io);
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(args, { from: 'user' });
    return ctx.exitCode;
  } catch (err) {
    const report = reportError(err);
    if (report.text) ctx.err(report.text);
    if (io.env.FLEET_TRACE && err instanceof Error && err.stack) ctx.err(`${err.stack}\n`);
    return report.code;
  } finally {
    ctx.close();
  }
}

/** The bin's entry: process.argv in, process exit code out. */
export function run(argv: string[] = process.argv): void {
  // A closed pipe (`fleet logs -f | head`) is the reader saying "enough", not a failure.
  for (const stream of [process.stdout, process.stderr]) {
    stream.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EPIPE') process.exit(0);
      throw err;
    });
  }
  const io: CliIo = {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
    onInterrupt: (handler) => {
      process.on('SIGINT', handler);
      return () => process.off('SIGINT', handler);
    },
  };
  runCli(argv.slice(2), io).then(
    (code) => {
      // Exit once stdout has drained, so piped output is never cut short.
      process.stdout.write('', () => process.exit(code));
    },
    (err: unknown) => {
      process.stderr.write(`error: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
