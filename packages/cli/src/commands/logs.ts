// fleet logs [app]: the last lines of each log, then (with --follow) new lines
// as they are written, until Ctrl-C, which is a normal end (exit 0).
import type { Command } from 'commander';
import { status, type ServiceError } from '@grpc/grpc-js';
import { fromServiceError, LogStream, type LogLine } from '@fleet/protocol';
import type { CommandContext } from '../context';
import { addHostOptions, whereOf, type HostFlags } from '../host-options';
import { EXIT_OK } from '../exit-codes';
import { parseCount } from '../flag-parsers';
import { logLineJson, renderLogLine } from '../format/log-line';

export const DEFAULT_LINES = 15;

export interface LogsFlags extends HostFlags {
  grep?: string;
  lines?: number;
  follow?: boolean;
  err?: boolean;
  out?: boolean;
  json?: boolean;
}

export function logStreamOf(flags: LogsFlags): LogStream {
  // Both or neither: both streams.
  if (flags.err && !flags.out) return LogStream.LOG_STREAM_ERR;
  if (flags.out && !flags.err) return LogStream.LOG_STREAM_OUT;
  return LogStream.LOG_STREAM_UNSPECIFIED;
}

export async function logs(ctx: CommandContext, target: string | undefined, flags: LogsFlags): Promise<number> {
  const where = whereOf(ctx, flags);
  const api = await ctx.connect();
  const call = api.logs({
    where,
    grep: flags.grep ?? '',
    target: target ?? '',
    lines: flags.lines ?? DEFAULT_LINES,
    follow: flags.follow === true,
    stream: logStreamOf(flags),
  });
  return new Promise<number>((resolve, reject) => {
    let interrupted = false;
    let settled = false;
    const off = ctx.onInterrupt(() => {
      interrupted = true;
      call.cancel();
    });
    const settle = (fn: () => void): void => {
      if (settled) return;
      settled = true;
      off();
      fn();
    };
    call.on('data', (line: LogLine) => {
      ctx.out(flags.json ? JSON.stringify(logLineJson(line)) + '\n' : renderLogLine(line, ctx.colors, ctx.remote));
    });
    call.on('end', () => settle(() => resolve(EXIT_OK)));
    call.on('error', (err: ServiceError) => {
      settle(() => {
        if (interrupted || err.code === status.CANCELLED) resolve(EXIT_OK);
        else reject(fromServiceError(err));
      });
    });
  });
}

export function registerLogs(program: Command, ctx: CommandContext): void {
  addHostOptions(program.command('logs'))
    .description('print the last log lines of an app (or all apps); --follow for new ones')
    .argument('[app]', 'app name or id (default: all)')
    .option('--lines <n>', `lines per log file (default: ${DEFAULT_LINES})`, parseCount)
    .option('-f, --follow', 'keep printing new lines until Ctrl-C')
    .option('--grep <text>', 'only lines containing this text')
    .option('--err', 'only the error stream')
    .option('--out', 'only the output stream')
    .option('--json', 'one JSON object per line: {app, instance, stream, line, timeMs, host}')
    .action(async (target: string | undefined, flags: LogsFlags) => {
      ctx.exitCode = await logs(ctx, target, flags);
    });
}
