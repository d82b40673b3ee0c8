// A compiled AppSpec as a readable block, for `describe` and `config check`.
import type { AppSpec } from '@fleet/protocol';
import { formatBytes } from './bytes';
import type { Colors } from './color';
import { formatMs } from './duration';
import { MASK } from './env';
import { execModeWord } from './status';

export interface SpecBlockOptions {
  /** false: env values print as ****. `config check` reads the user's own file and shows them. */
  showEnvValues: boolean;
  indent?: string;
}

export function renderSpecFields(spec: AppSpec, colors: Colors, opts: SpecBlockOptions): string {
  return renderFields(specFields(spec, opts), colors, opts.indent ?? '  ');
}

export function specFields(spec: AppSpec, opts: SpecBlockOptions): Array<[string, string]> {
  const r = spec.restart;
  const log = spec.log;
  const watch = spec.watch;
  const fields: Array<[string, string]> = [
    ['script', spec.script],
    ['args', spec.args.length ? spec.args.map(quoteArg).join(' ') : '-'],
    ['cwd', spec.cwd],
    ['interpreter', [spec.interpreter || '-', ...spec.interpreterArgs.map(quoteArg)].join(' ')],
    ['exec mode', execModeWord(spec.execMode)],
    ['instances', String(spec.instances)],
  ];
  if (spec.instanceVar) fields.push(['instance var', spec.instanceVar]);
  if (spec.incrementVar) fields.push(['increment var', spec.incrementVar]);
  fields.push(['ready', `${spec.waitReady ? 'wait_ready' : 'on start'}, listen timeout ${formatMs(spec.listenTimeoutMs)}`]);
  fields.push(['stop', `${spec.killSignal || 'SIGINT'}, then SIGKILL after ${formatMs(spec.killTimeoutMs)}`]);
  if (r) {
    fields.push([
      'restart',
      [
        r.autorestart ? 'autorestart' : 'no autorestart',
        `max ${r.maxRestarts} unstable restarts`,
        `min uptime ${formatMs(r.minUptimeMs)}`,
        `delay ${formatMs(r.restartDelayMs)}`,
        r.expBackoffRestartDelayMs ? `exp backoff from ${formatMs(r.expBackoffRestartDelayMs)}` : 'no exp backoff',
        `stable after ${formatMs(r.stableAfterMs)}`,
      ].join(', '),
    ]);
    if (r.stopExitCodes.length) fields.push(['stop exit codes', r.stopExitCodes.join(', ')]);
    fields.push([
      'max memory',
      r.maxMemoryBytes ? `${formatBytes(r.maxMemoryBytes)} (checked every ${formatMs(r.memoryCheckIntervalMs)})` : '-',
    ]);
    fields.push(['cron restart', r.cronRestart || '-']);
  }
  if (log) {
    if (log.disabled) {
      fields.push(['logs', 'discarded']);
    } else {
      fields.push(['out log', log.outFile]);
      fields.push(['error log', log.errorFile]);
      const extras = [
        log.dateFormat ? `date format ${log.dateFormat}` : '',
        log.merge ? 'merged' : '',
        log.json ? 'json lines' : '',
        log.maxSizeBytes ? `rotate at ${formatBytes(log.maxSizeBytes)}, keep ${log.retain}${log.compress ? ', gzip' : ''}` : 'no rotation',
      ].filter(Boolean);
      fields.push(['log options', extras.join(', ')]);
    }
  }
  if (watch?.enabled) {
    const paths = watch.paths.length ? watch.paths.join(', ') : '.';
    const ignore = watch.ignore.length ? `, ignore ${watch.ignore.join(', ')}` : '';
    fields.push(['watch', `${paths}${ignore}, debounce ${formatMs(watch.debounceMs)}`]);
  } else {
    fields.push(['watch', 'off']);
  }
  const env = Object.keys(spec.env).sort();
  fields.push([
    'env',
    env.length ? env.map((k) => `${k}=${opts.showEnvValues ? spec.env[k] : MASK}`).join(' ') : '-',
  ]);
  if (spec.source) fields.push(['source', spec.source]);
  if (spec.deployJson) fields.push(['deploy', 'yes (read by deploy commands)']);
  return fields;
}

export function renderFields(fields: Array<[string, string]>, colors: Colors, indent: string): string {
  const width = Math.max(...fields.map(([k]) => k.length));
  return fields.map(([k, v]) => `${indent}${colors.gray(k.padEnd(width))}  ${v}`).join('\n') + '\n';
}

function quoteArg(a: string): string {
  return /^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a);
}
