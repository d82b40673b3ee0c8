// Deployment states and host phases as people read them: "rolling-back", "verifying".
import { DeploymentState, HostPhase, ReleaseState } from './gen/fleet/v1/release';

export function deploymentStateWord(state: DeploymentState): string {
  return word(DeploymentState[state], 'DEPLOYMENT_STATE_');
}

export function hostPhaseWord(phase: HostPhase): string {
  return word(HostPhase[phase], 'HOST_PHASE_');
}

export function releaseStateWord(state: ReleaseState): string {
  return word(ReleaseState[state], 'RELEASE_STATE_');
}

function word(name: string | undefined, prefix: string): string {
  return name ? name.slice(prefix.length).toLowerCase().replace(/_/g, '-') : 'unknown';
}

const FINAL: ReadonlySet<DeploymentState> = new Set([
  DeploymentState.DEPLOYMENT_STATE_SUCCEEDED,
  DeploymentState.DEPLOYMENT_STATE_FAILED,
  DeploymentState.DEPLOYMENT_STATE_ROLLED_BACK,
  DeploymentState.DEPLOYMENT_STATE_CANCELLED,
]);

/** Succeeded, failed, rolled back or cancelled: nothing more will happen. */
export function isFinalDeploymentState(state: DeploymentState): boolean {
  return FINAL.has(state);
}
