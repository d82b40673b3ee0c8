// Test helpers: captured streams and a runCli with them.
import { runCli } from '../src/main';
import type { CliIo } from '../src/context';

export interface Captured {
  write(chunk: string): boolean;
  text: string;
  isTTY?: boolean;
}

export function capture(isTTY = false): Captured {
  const c: Captured = {
    text: '',
    isTTY,
    write(chunk: string) {
      c.text += chunk;
      return true;
    },
  };
  return c;
}

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Called with the SIGINT handler the command registers. */
  onInterrupt?: (handler: () => void) => void;
  /** Replaces the daemon spawn; by default spawning fails the test. */
  spawnDaemon?: (home: string) => void;
}

export async function runFleet(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const stdout = capture();
  const stderr = capture();
  const io: CliIo = {
    stdout,
    stderr,
    env: opts.env ?? { FLEET_HOME: '/nonexistent/fleet-test-home' },
    cwd: opts.cwd ?? process.cwd(),
    onInterrupt: (handler) => {
      opts.onInterrupt?.(handler);
      return () => undefined;
    },
    spawnDaemon:
      opts.spawnDaemon ??
      (() => {
        throw new Error('tests never spawn a daemon');
      }),
  };
  const code = await runCli(args, io);
  return { code, stdout: stdout.text, stderr: stderr.text };
}
