export type { HostLink, FollowHandle } from './host-link';
export { HostRegistry, type HostEntry, type PersistedHost } from './host-registry';
export { LogHub, type LogSink, type LogFeed } from './log-hub';
export { createControllerService, type ControllerServiceDeps, type TokenAdmin } from './fleet-service';
export { localAuthorizer, type Authorizer } from './authorizer';
export { ArtifactStore } from './deploy/artifact-store';
export { ReleaseBook } from './deploy/release-book';
export { DeployDriver } from './deploy/deploy-driver';
export { createDeployService } from './deploy/deploy-service';
