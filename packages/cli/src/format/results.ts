// Per-app outcome lines of the action commands: `✓ api restarted` on stdout,
// `✗ api: <error>` on stderr, so a script reading stdout sees only successes.
import type { AppResult } from '@fleet/protocol';
import type { Colors } from './color';

export interface ResultLines {
  out: string;
  err: string;
  failed: number;
}

export function renderResults(results: AppResult[], verb: string, colors: Colors): ResultLines {
  let out = '';
  let err = '';
  let failed = 0;
  for (const r of results) {
    const name = r.app || `#${r.appId}`;
    if (r.ok) {
      out += `${colors.green('✓')} ${name} ${verb}${detail(r.message, verb)}\n`;
    } else {
      failed++;
      err += `${colors.red('✗')} ${name}: ${r.error || 'failed'}\n`;
    }
  }
  return { out, err, failed };
}

/** The daemon's message when it adds something ("already online"), not when it repeats the verb. */
function detail(message: string, verb: string): string {
  const m = message.trim();
  if (!m || verb.toLowerCase().split(' ').includes(m.toLowerCase())) return '';
  return `: ${m}`;
}
