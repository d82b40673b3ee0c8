// Per-app outcome lines of the action commands: `✓ api restarted` on stdout,
// `✗ api: <error>` on stderr, so a script reading stdout sees only successes.
import type { AppResult } from '@fleet/protocol';
import type { Colors } from './color';

export interface ResultLines {
  out: string;
  err: string;
  failed: number;
}

/** `showHost`: results from a fleet name their host (`web1/api restarted`). */
export function renderResults(results: AppResult[], verb: string, colors: Colors, showHost = false): ResultLines {
  let out = '';
  let err = '';
  let failed = 0;
  for (const r of results) {
    const app = r.app || (r.appId >= 0 ? `#${r.appId}` : '');
    const name = showHost && r.host ? (app ? `${r.host}/${app}` : r.host) : app;
    if (r.ok) {
      out += `${colors.green('✓')} ${name} ${verb}${detail(r.message, verb)}\n`;
    } else {
      failed++;
      err += `${colors.red('✗')} ${name}: ${r.error || 'failed'}\n`;
      // Per-host failures carry their fix; a single app's failure message is not a hint.
      if (showHost && r.message) err += `    fix: ${r.message}\n`;
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
