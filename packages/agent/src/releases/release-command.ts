// Runs a deploy hook (install, build, the release command) in the release
// folder: `/bin/sh -c command`, in its own process group so a timeout can stop
// everything it started (npm's children, a migration tool's workers), not just
// the shell. Output is kept as a tail of bounded size: a chatty `npm ci` can
// print megabytes, and only the end explains a failure.
import { spawn } from 'node:child_process';
import * as os from 'node:os';

export interface ReleaseCommandOptions {
  cwd: string;
  /** The whole environment of the command (nothing is inherited besides it). */
  env: NodeJS.ProcessEnv;
  /** After this, the group gets SIGTERM, then SIGKILL after killGraceMs. */
  timeoutMs: number;
  /** Bytes of output kept (the last ones). @default 65536 */
  outputLimitBytes?: number;
  /** Between SIGTERM and SIGKILL. @default 2000 */
  killGraceMs?: number;
}

export interface ReleaseCommandResult {
  /** The shell's exit code, or 128 + the signal number when a signal ended it. */
  exitCode: number;
  /** stdout and stderr interleaved as they arrived, the last outputLimitBytes of them. */
  output: string;
  timedOut: boolean;
}

export const DEFAULT_OUTPUT_LIMIT_BYTES = 64 * 1024;
export const DEFAULT_KILL_GRACE_MS = 2000;

/**
 * Resolves once the shell has exited and every holder of its output has
 * closed it. Whatever the command left running in its group when the shell
 * exits is stopped too (SIGTERM, then SIGKILL): a hook must not leave
 * processes behind in a release folder. Something meant to outlive the hook
 * must leave the group (setsid). Rejects only when the shell cannot be
 * started at all (e.g. `cwd` does not exist).
 */
export function runReleaseCommand(command: string, opts: ReleaseCommandOptions): Promise<ReleaseCommandResult> {
  const tail = new OutputTail(opts.outputLimitBytes ?? DEFAULT_OUTPUT_LIMIT_BYTES);
  const graceMs = opts.killGraceMs ?? DEFAULT_KILL_GRACE_MS;
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], {
      cwd: opts.cwd,
      env: opts.env,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let timedOut = false;
    let exitCode = -1;
    let killTimer: NodeJS.Timeout | undefined;

    // Signals go to the group (-pid): the shell's children are in it as well.
    const stopGroup = (): void => {
      if (killTimer || child.pid === undefined) return;
      signalGroup(child.pid, 'SIGTERM');
      const pid = child.pid;
      killTimer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      killTimer.unref();
    };
    const timeout = setTimeout(() => {
      timedOut = true;
      stopGroup();
    }, opts.timeoutMs);

    child.stdout.on('data', (b: Buffer) => tail.push(b));
    child.stderr.on('data', (b: Buffer) => tail.push(b));
    child.on('error', (err) => {
      clearTimeout(timeout);
      reject(new Error(`cannot run the command in ${opts.cwd}: ${err.message}`, { cause: err }));
    });
    child.on('exit', (code, signal) => {
      clearTimeout(timeout);
      exitCode = code ?? 128 + (signal ? (os.constants.signals[signal] ?? 0) : 0);
      stopGroup();
    });
    // 'close' comes after 'exit' and after the last holder of the pipes is gone.
    child.on('close', () => {
      clearTimeout(timeout);
      // Once the group is empty its id may be reused; do not SIGKILL a stranger later.
      if (killTimer && child.pid !== undefined && !groupAlive(child.pid)) clearTimeout(killTimer);
      resolve({ exitCode, output: tail.text(), timedOut });
    });
  });
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is gone already
  }
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The last `limit` bytes written, as UTF-8 text. */
export class OutputTail {
  private chunks: Buffer[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Buffer): void {
    if (this.limit <= 0) return;
    this.chunks.push(chunk);
    this.size += chunk.length;
    // Drop whole chunks while the rest still covers the limit; text() trims the first.
    while (this.chunks.length > 1 && this.size - this.chunks[0].length >= this.limit) {
      this.size -= this.chunks.shift()!.length;
    }
  }

  text(): string {
    let buf = Buffer.concat(this.chunks);
    if (buf.length > this.limit) {
      buf = buf.subarray(buf.length - this.limit);
      // Skip UTF-8 continuation bytes so the tail does not start with a broken character.
      let start = 0;
      while (start < buf.length && start < 3 && (buf[start] & 0xc0) === 0x80) start++;
      buf = buf.subarray(start);
    }
    return buf.toString('utf8');
  }
}
