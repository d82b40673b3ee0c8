export * from './gen/fleet/v1/app';
export * from './gen/fleet/v1/process';
export * from './gen/fleet/v1/fleet';
export * from './gen/fleet/v1/host';
export * from './gen/fleet/v1/agent_link';
export * from './gen/fleet/v1/release';
export * from './release-layout';
export * from './deploy-words';
export * from './metric-names';
export * from './nats-subjects';
export {
  RunnerRequest,
  RunnerResponse,
  RunnerState,
  Hello,
  StopRequest,
  ScaleRequest,
  UpdateSpec,
} from './gen/fleet/v1/runner';
export * from './errors';
export { summarizeApps } from './app-summary';
export * from './grpc-errors';
export * from './fleet-home';
export { RUNNER_PROTOCOL_VERSION, LineDecoder } from './runner-protocol';
export { FLEET_VERSION } from './version';
export * from './link-protocol';
export * from './host-calls';
export * from './host-selector';
export * from './host-status-word';
export * from './transport';
export { readJsonFile, syncDir, writeFileAtomic } from './atomic-file';
// The config compiler is its own entry point (@fleet/protocol/config): it pulls in
// yaml, json5 and cron-parser, which every `fleet ls` would otherwise load.
