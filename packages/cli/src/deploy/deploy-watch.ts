// Follows a deployment until it ends: a live view in a terminal, plain step
// lines otherwise. Ctrl-C stops following, not the deployment.
import { type Deployment, DeploymentState, isFinalDeploymentState } from '@fleet/protocol';
import type { FleetApi } from '../client';
import type { CommandContext } from '../context';
import { renderDeployment, renderStep } from '../format/deployment';

export async function watchDeployment(ctx: CommandContext, api: FleetApi, first: Deployment, opts: { live: boolean; quiet?: boolean }): Promise<Deployment> {
  let last = first;
  let printedSteps = 0;
  let drawnLines = 0;
  const draw = (d: Deployment): void => {
    if (opts.quiet) return;
    if (opts.live) {
      const text = renderDeployment(d, ctx.colors, { steps: 8 });
      // Move up over the previous drawing and clear it: a view redrawn in place.
      if (drawnLines > 0) ctx.out(`\u001b[${drawnLines}A\u001b[J`);
      ctx.out(text);
      drawnLines = text.split('\n').length - 1;
    } else {
      for (const step of d.steps.slice(printedSteps)) ctx.out(renderStep(step, ctx.colors));
      printedSteps = d.steps.length;
    }
  };
  draw(first);
  if (isFinalDeploymentState(first.state) && first.endedMs > 0) return first;
  const stream = api.watchDeployment(first.id);
  const stopInterrupt = ctx.onInterrupt(() => {
    stream.cancel();
    ctx.err(`\nstopped following; deployment ${first.id} goes on. Follow it with \`fleet deploy status ${first.id}\`, stop it with \`fleet deploy cancel ${first.id}\`\n`);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      stream.on('data', (d: Deployment) => {
        last = d;
        draw(d);
      });
      stream.on('end', resolve);
      stream.on('error', (err: Error & { code?: number }) => (err.code === 1 /* cancelled */ ? resolve() : reject(err)));
    });
  } finally {
    stopInterrupt();
  }
  if (!isFinalDeploymentState(last.state)) last = { ...last, state: last.state === DeploymentState.DEPLOYMENT_STATE_UNSPECIFIED ? DeploymentState.DEPLOYMENT_STATE_RUNNING : last.state };
  return last;
}
