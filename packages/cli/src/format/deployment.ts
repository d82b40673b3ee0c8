// A deployment as people follow it: a header, one row per host, the last steps.
// In a terminal the block is redrawn in place; in a pipe or a CI log each new
// step is one plain line, so the record reads top to bottom. The live view
// gives a width: a long DETAIL (a health check's answer, a failure) is cut to
// fit it, so a host stays one row.
import { type Deployment, deploymentStateWord, DeploymentState, HostPhase, hostPhaseWord, withDefaults } from '@fleet/protocol';
import { type Colors, visibleLength } from './color';
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

function deploymentHeader(d: Deployment, c: Colors, now = Date.now()): string {
  const s = withDefaults(d.strategy);
  const took = formatDuration((d.endedMs || now) - d.createdMs);
  const what = d.rollback ? `rollback of ${d.app} to v${d.version}` : `${d.app} v${d.version}`;
  const plan = `batch ${s.batchSize}${s.canary ? `, canary ${s.canary}` : ''}${s.healthUrl ? `, health ${s.healthUrl}` : ''}`;
  const paused = d.awaitingPromotion ? c.yellow(`  waiting for: fleet deploy promote ${d.id}`) : '';
  return `deployment ${c.bold(d.id)}  ${what}  ${stateColor(d.state, c)(deploymentStateWord(d.state))}  ${took}  (${plan})${paused}\n`;
}

const HOST_COLUMNS = [{ header: 'HOST' }, { header: 'PHASE' }, { header: 'RELEASE' }, { header: 'DETAIL' }];
/** renderTable's gap between columns. */
const GAP = 2;
/** A DETAIL is never cut shorter than this, however narrow the terminal: wrapping beats losing it. */
const MIN_DETAIL = 20;

export function renderHosts(d: Deployment, c: Colors, width?: number): string {
  const rows = d.hosts.map((h) => [
    h.name,
    phaseColor(h.phase, c)(hostPhaseWord(h.phase)) + (h.canary ? c.gray(' (canary)') : ''),
    `${h.previousVersion ? `v${h.previousVersion}` : '-'} -> v${d.version}`,
    h.reason || (h.phase === HostPhase.HOST_PHASE_VERIFYING ? h.health : ''),
  ]);
  if (width !== undefined) {
    // The columns before DETAIL, as renderTable sizes them.
    const before = HOST_COLUMNS.slice(0, -1).reduce((sum, col, i) => sum + Math.max(visibleLength(col.header), ...rows.map((r) => visibleLength(r[i]))) + GAP, 0);
    const room = Math.max(MIN_DETAIL, width - before);
    for (const r of rows) r[3] = cut(r[3], room);
  }
  return renderTable(HOST_COLUMNS, rows);
}

/** DETAIL is plain text (no colour codes): cut by characters, marked with an ellipsis. */
function cut(s: string, max: number): string {
  return s.length <= max ? s : `${s.slice(0, max - 1)}…`;
}

export function renderStep(step: Deployment['steps'][number], c: Colors): string {
  const time = new Date(step.timeMs).toISOString().slice(11, 19);
  return `${c.gray(time)} ${step.host ? `${c.bold(step.host)}: ` : ''}${step.message}\n`;
}

/** The whole view: header, hosts, the last few steps; `width` cuts long DETAIL cells to fit. */
export function renderDeployment(d: Deployment, c: Colors, opts: { steps?: number; now?: number; width?: number } = {}): string {
  const n = opts.steps ?? 6;
  const steps = n > 0 ? d.steps.slice(-n).map((s) => renderStep(s, c)).join('') : '';
  return `${deploymentHeader(d, c, opts.now)}\n${renderHosts(d, c, opts.width)}\n${steps}`;
}

/** The outcome in one line, for the end of a deploy. */
export function outcomeLine(d: Deployment, c: Colors): string {
  const word = deploymentStateWord(d.state);
  if (d.state === DeploymentState.DEPLOYMENT_STATE_SUCCEEDED) return c.green(`${d.app} v${d.version} is live on ${d.hosts.length} host${d.hosts.length === 1 ? '' : 's'}`) + '\n';
  return c.red(`deployment ${d.id} ${word}${d.reason ? `: ${d.reason}` : ''}`) + '\n';
}
