// The metrics endpoint as one module, for loading on first use (see ../index.ts).
export { startMetricsServer, type RunningMetricsServer } from './metrics-server';
export { registrySnapshot, type DeploymentSource } from './registry-snapshot';
export { checkMetricsListen, staticTokenGuard, tokenStoreGuard, type RequestGuard } from './metrics-access';
