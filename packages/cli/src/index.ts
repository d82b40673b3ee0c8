export { run, runCli, buildProgram } from './main';
export type { CliIo, Output } from './context';
export { EXIT_OK, EXIT_FAILED, EXIT_USAGE } from './exit-codes';
