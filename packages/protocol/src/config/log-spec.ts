// Where an app's output goes. Paths are made absolute against the app's cwd
// (PM2 does the same); "/dev/null", "NULL" or false turns one stream off.
import * as path from 'node:path';
import { ExecMode, type LogSpec } from '../gen/fleet/v1/app';
import { readBoolean, readInteger, readString } from './coerce';
import { ConfigError } from './config-error';
import { DEFAULTS, defaultErrorFile, defaultOutFile } from './defaults';
import type { KeyedValue, ReadKey } from './pm2-keys';
import { expandHome } from './resolve-script';
import { parseSize } from './units';

export interface LogContext {
  cwd: string;
  logsDir: string;
  name: string;
  execMode: ExecMode;
  instances: number;
}

const DISCARD = '/dev/null';

export function buildLogSpec(get: ReadKey, ctx: LogContext): LogSpec {
  const bool = (key: Parameters<ReadKey>[0]): boolean | undefined => {
    const e = get(key);
    return e ? readBoolean(e.value, e.key) : undefined;
  };
  const allOff = bool('disable_logs') ?? false;
  const outFile = allOff ? DISCARD : logPath(get('out_file'), ctx.cwd, defaultOutFile(ctx.logsDir, ctx.name));
  const errorFile = allOff ? DISCARD : logPath(get('error_file'), ctx.cwd, defaultErrorFile(ctx.logsDir, ctx.name));

  const format = get('log_date_format');
  // An explicit format wins over `time: true` (PM2 lets `time` overwrite it,
  // but a file that sets both wants the format it spells out).
  const dateFormat = format ? readString(format.value, format.key) : bool('time') ? DEFAULTS.timeDateFormat : '';

  const logType = get('log_type');
  const json = logType ? readLogType(logType) : false;

  const maxSize = get('log_max_size');
  const retain = get('log_retain');
  return {
    outFile,
    errorFile,
    dateFormat,
    // PM2 merges by default except when several instances run (each then gets its own file).
    merge: bool('merge_logs') ?? (ctx.execMode !== ExecMode.EXEC_MODE_CLUSTER && ctx.instances === 1),
    json,
    maxSizeBytes: parseSize(maxSize ? maxSize.value : DEFAULTS.logMaxSize, maxSize?.key ?? 'log_max_size'),
    retain: retain ? readInteger(retain.value, retain.key) : DEFAULTS.logRetain,
    compress: bool('log_compress') ?? DEFAULTS.logCompress,
    disabled: outFile === DISCARD && errorFile === DISCARD,
  };
}

function logPath(entry: KeyedValue | undefined, cwd: string, fallback: string): string {
  if (!entry || entry.value === true) return fallback;
  if (entry.value === false) return DISCARD;
  const written = readString(entry.value, entry.key).trim();
  if (written === '') return fallback;
  if (DEFAULTS.nullLogFiles.includes(written)) return DISCARD;
  return path.resolve(cwd, expandHome(written));
}

function readLogType({ key, value }: KeyedValue): boolean {
  const s = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (s === 'json') return true;
  if (s === '' || s === 'raw' || s === 'text') return false;
  throw new ConfigError(`${key} must be "json", got ${JSON.stringify(value)}`, {
    key,
    hint: `${key}: "json" writes each line as a JSON object; leave it out for plain text`,
  });
}
