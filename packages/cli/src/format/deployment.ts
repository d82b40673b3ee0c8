// A deployment as people follow it: a header, one row per host, the last steps.
// In a terminal the block is redrawn in place; in a pipe or a CI log each new
// step is one plain line, so the record reads top to bottom.
import { type Deployment, deploymentStateWord, DeploymentState, HostPhase, hostPhaseWord, withDefaults } from '@fleet/protocol';
import type { Colors } from './color';
import { formatDuration } from './duration';
import { renderTable } from './table';

function stateColor(state: DeploymentState, c: Colors): (s: string) => string {
  if (state === DeploymentState.DEPLOYMENT_STATE_SUCCEEDED) return c.green;
  if (state === DeploymentState.DEPLOYMENT_STATE_RUNNING || state === DeploymentState.DEPLOYMENT_STATE_PENDING) return c.cyan;
  if (state === DeploymentState.DEPLOYMENT_STATE_PAUSED || state === DeploymentState.DEPLOYMENT_STATE_ROLLING_BACK) return c.yellow;
  return c.red;
}

function phaseColor(phase: HostPhase, c: Colors): (s: string) => string {
  if (phase === HostPhase.HOST_PHASE_HEALTHY) return c.green;
  if (phase === HostPhase.HOST_PHASE_FAILED) return c.red;
  if (phase === HostPhase.HOST_PHASE_ROLLED_BACK || phase === HostPhase.HOST_PHASE_ROLLING_BACK) return c.yellow;
  if (phase === HostPhase.HOST_PHASE_WAITING || phase === HostPhase.HOST_PHASE_SKIPPED) return c.gray;
  return c.cyan;
}

export function deploymentHeader(d: Deployment, c: Colors, now = Date.now()): string {
  const s = withDefaults(d.strategy);
  const took = formatDuration((d.endedMs || now) - d.createdMs);
  const what = d.rollback ? `rollback of ${d.app} to v${d.version}` : `${d.app} v${d.version}`;
  const plan = `batch ${s.batchSize}${s.canary ? `, canary ${s.canary}` : ''}${s.healthUrl ? `, health ${s.healthUrl}` : ''}`;
  const paused = d.awaitingPromotion ? c.yellow(`  waiting for: fleet deploy promote ${d.id}`) : '';
  return `deployment ${c.bold(d.id)}  ${what}  ${stateColor(d.state, c)(deploymentStateWord(d.state))}  ${took}  (${plan})${paused}\n`;
}

export function renderHosts(d: Deployment, c: Colors): string {
  const rows = d.hosts.map((h) => [
    h.name,
    phaseColor(h.phase, c)(hostPhaseWord(h.phase)) + (h.canary ? c.gray(' (canary)') : ''),
    `${h.previousVersion ? `v${h.previousVersion}` : '-'} -> v${d.version}`,
    h.reason || (h.phase === HostPhase.HOST_PHASE_VERIFYING ? h.health : ''),
  ]);
  return renderTable([{ header: 'HOST' }, { header: 'PHASE' }, { header: 'RELEASE' }, { header: 'DETAIL' }], rows);
}

export function renderStep(step: Deployment['steps'][number], c: Colors): string {
  const time = new Date(step.timeMs).toISOString().slice(11, 19);
  return `${c.gray(time)} ${step.host ? `${c.bold(step.host)}: ` : ''}${step.message}\n`;
}

/** The whole view: header, hosts, the last few steps. */
export function renderDeployment(d: Deployment, c: Colors, opts: { steps?: number; now?: number } = {}): string {
  const n = opts.steps ?? 6;
  const steps = n > 0 ? d.steps.slice(-n).map((s) => renderStep(s, c)).join('') : '';
  return `${deploymentHeader(d, c, opts.now)}\n${renderHosts(d, c)}\n${steps}`;
}

/** The outcome in one line, for the end of a deploy. */
export function outcomeLine(d: Deployment, c: Colors): string {
  const word = deploymentStateWord(d.state);
  if (d.state === DeploymentState.DEPLOYMENT_STATE_SUCCEEDED) return c.green(`${d.app} v${d.version} is live on ${d.hosts.length} host${d.hosts.length === 1 ? '' : 's'}`) + '\n';
  return c.red(`deployment ${d.id} ${word}${d.reason ? `: ${d.reason}` : ''}`) + '\n';
}
