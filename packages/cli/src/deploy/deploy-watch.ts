// Follows a deployment until it ends: a live view in a terminal, plain step
// lines otherwise. Ctrl-C stops following, not the deployment.
//
// The rollout runs on the controller, not here: a controller that restarts
// mid-deploy resumes it. So a watch that drops (UNAVAILABLE, a CANCELLED we
// did not ask for, or a stream that ends before the deployment did) is
// subscribed again, with backoff, until the controller answers or
// RECONNECT.giveUpAfterMs have passed; then the command fails, saying the
// deployment goes on there.
import { type ClientReadableStream, type ServiceError, status } from '@grpc/grpc-js';
import { type Deployment, DeploymentState, isFinalDeploymentState, UnavailableError } from '@fleet/protocol';
import type { FleetApi } from '../client';
import type { CommandContext, Output } from '../context';
import { visibleLength } from '../format/color';
import { renderDeployment, renderStep } from '../format/deployment';

export interface ReconnectPolicy {
  /** The first wait after the watch drops; doubled after each failed attempt. */
  firstDelayMs: number;
  maxDelayMs: number;
  /** Counted from the drop; the controller answering again resets it. */
  giveUpAfterMs: number;
}

export const RECONNECT: ReconnectPolicy = { firstDelayMs: 250, maxDelayMs: 2000, giveUpAfterMs: 60_000 };

/** Without `columns` (a pipe, a test stream), rows are counted at this width. */
const DEFAULT_COLUMNS = 80;

/** The wait before attempt `attempt` (0 first) after `lostForMs` without the controller, or undefined: give up. */
export function reconnectDelay(policy: ReconnectPolicy, attempt: number, lostForMs: number): number | undefined {
  const left = policy.giveUpAfterMs - lostForMs;
  if (left <= 0) return undefined;
  return Math.min(policy.firstDelayMs * 2 ** attempt, policy.maxDelayMs, left);
}

/** The terminal rows `text` fills at `columns`: a line longer than the terminal wraps onto more than one. */
export function screenRows(text: string, columns: number): number {
  const lines = text.split('\n');
  // After the final newline the cursor is on a fresh row, which nothing fills.
  if (lines.at(-1) === '') lines.pop();
  return lines.reduce((rows, line) => rows + Math.max(1, Math.ceil(visibleLength(line) / columns)), 0);
}

function columnsOf(out: Output): number {
  const columns = (out as Output & { columns?: unknown }).columns;
  return typeof columns === 'number' && columns > 0 ? columns : DEFAULT_COLUMNS;
}

type Subscription = 'ended' | 'lost';

export async function watchDeployment(
  ctx: CommandContext,
  api: FleetApi,
  first: Deployment,
  opts: { live: boolean; quiet?: boolean; reconnect?: ReconnectPolicy },
): Promise<Deployment> {
  const id = first.id;
  const policy = opts.reconnect ?? RECONNECT;
  let last = first;
  let printedSteps = 0;
  let drawnRows = 0;
  const draw = (d: Deployment): void => {
    if (opts.quiet) return;
    if (opts.live) {
      const columns = columnsOf(ctx.stdout);
      const text = renderDeployment(d, ctx.colors, { steps: 8, width: columns });
      // Move up over the previous drawing and clear it: a view redrawn in place.
      if (drawnRows > 0) ctx.out(`\u001b[${drawnRows}A\u001b[J`);
      ctx.out(text);
      drawnRows = screenRows(text, columns);
    } else {
      for (const step of d.steps.slice(printedSteps)) ctx.out(renderStep(step, ctx.colors));
      printedSteps = d.steps.length;
    }
  };
  draw(first);
  if (isFinalDeploymentState(first.state) && first.endedMs > 0) return first;

  let stopped = false;
  let stream: ClientReadableStream<Deployment> | undefined;
  let wake = (): void => undefined;
  const stopInterrupt = ctx.onInterrupt(() => {
    stopped = true;
    stream?.cancel();
    wake();
    ctx.err(`\nstopped following; deployment ${id} goes on. Follow it with \`fleet deploy status ${id}\`, stop it with \`fleet deploy cancel ${id}\`\n`);
  });
  // Set while the controller is away: when it went, how many attempts since, whether the user was told.
  let lost: { since: number; attempts: number; told: boolean } | undefined;
  const subscribe = (): Promise<Subscription> =>
    new Promise<Subscription>((resolve, reject) => {
      const s = api.watchDeployment(id);
      stream = s;
      s.on('data', (d: Deployment) => {
        lost = undefined;
        last = d;
        draw(d);
      });
      s.on('end', () => resolve(isFinalDeploymentState(last.state) ? 'ended' : 'lost'));
      s.on('error', (err: ServiceError) => {
        if (stopped) resolve('ended');
        // UNAVAILABLE: the connection dropped (a killed controller). CANCELLED that
        // we did not ask for: a controller stopping (its shutdown cancels open calls).
        else if (err.code === status.UNAVAILABLE || err.code === status.CANCELLED) resolve('lost');
        else reject(err);
      });
    });
  try {
    while (!stopped && (await subscribe()) === 'lost' && !stopped) {
      lost ??= { since: Date.now(), attempts: 0, told: false };
      const delay = reconnectDelay(policy, lost.attempts++, Date.now() - lost.since);
      if (delay === undefined) {
        throw new UnavailableError(`lost the controller; deployment ${id} goes on there`, { hint: `follow it with fleet deploy status ${id}` });
      }
      if (!lost.told) {
        lost.told = true;
        ctx.err(`lost the controller; reconnecting… (deployment ${id} goes on there)\n`);
        // The line went between the view and the cursor: draw the view again below it, not over it.
        drawnRows = 0;
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
    }
  } finally {
    stopInterrupt();
  }
  if (!isFinalDeploymentState(last.state)) last = { ...last, state: last.state === DeploymentState.DEPLOYMENT_STATE_UNSPECIFIED ? DeploymentState.DEPLOYMENT_STATE_RUNNING : last.state };
  return last;
}
