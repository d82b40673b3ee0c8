// Output shared by every command that acts on apps and answers with AppResults.
import type { AppResult } from '@fleet/protocol';
import type { CommandContext } from '../context';
import { EXIT_FAILED, EXIT_OK } from '../exit-codes';
import { renderResults } from '../format/results';

/** Prints the results and returns the exit code: 1 when any app failed (partial failure included). */
export function reportResults(ctx: CommandContext, results: AppResult[], verb: string, json: boolean): number {
  const failed = results.some((r) => !r.ok);
  if (json) {
    ctx.json({ results });
  } else if (results.length === 0) {
    ctx.err('no apps matched\n');
  } else {
    const lines = renderResults(results, verb, ctx.colors, ctx.remote);
    ctx.out(lines.out);
    // Failures on stderr, coloured for stderr's terminal.
    ctx.err(renderResults(results.filter((r) => !r.ok), verb, ctx.errColors, ctx.remote).err);
  }
  return failed ? EXIT_FAILED : EXIT_OK;
}
