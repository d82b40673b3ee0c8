// Transport helpers shared by the controller, the agent and the CLI.
export * from './tls';
export * from './nats-target';
