export type { HostLink, FollowHandle } from './host-link';
export { HostRegistry, type HostEntry, type PersistedHost } from './host-registry';
export { LogHub, type LogSink, type LogFeed } from './log-hub';
export { createControllerService, type ControllerServiceDeps, type DeployHandlers, type TokenAdmin } from './fleet-service';
export { localAuthorizer, type Authorizer } from './authorizer';

// Deploys and the metrics endpoint are loaded when used: a local daemon that
// never deploys nor serves /metrics does not carry their code (~0.2 MB of heap).
export type { ArtifactStore, ReleaseBook, DeployDriver } from './deploy';
export type { RunningMetricsServer, DeploymentSource, RequestGuard } from './http';
export const loadDeploys = (): typeof import('./deploy') => require('./deploy') as typeof import('./deploy');
export const loadMetricsHttp = (): typeof import('./http') => require('./http') as typeof import('./http');
