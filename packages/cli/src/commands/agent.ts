// fleet agent: the daemon in the foreground (systemd's ExecStart, or to watch
// it start). Loaded by path at run time so the CLI imports no agent code.
import type { Command } from 'commander';
import type { CommandContext } from '../context';
import { daemonEntryPoint } from '../daemon-launcher';

interface DaemonModule {
  main(opts?: { foreground?: boolean }): unknown;
}

/** Never resolves: the daemon's own handles keep the process alive, and it decides when to exit. */
export async function agent(): Promise<never> {
  const entry = daemonEntryPoint();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const daemon = require(entry) as DaemonModule;
  // Foreground: the daemon logs to stderr (a terminal, or the journal under systemd).
  await daemon.main({ foreground: true });
  return new Promise<never>(() => undefined);
}

export function registerAgent(program: Command, ctx: CommandContext): void {
  program
    .command('agent')
    .description('run the daemon in the foreground')
    .option('--json', 'accepted for uniformity; the daemon writes its own log')
    .action(async () => {
      ctx.exitCode = await agent();
    });
}
