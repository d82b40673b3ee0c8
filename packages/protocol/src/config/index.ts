// The config compiler: PM2 ecosystem files and CLI flags → compiled AppSpecs.
export type { CompileOptions, CompiledConfig } from './compile-options';
export { compileApp } from './compile-app';
export { compileConfig, loadAndCompile } from './compile-config';
export { isConfigFile, loadConfigFile } from './load-config-file';
export { parseSize, parseDuration } from './units';
export { ConfigError, type ConfigErrorOptions } from './config-error';
export { DEFAULTS } from './defaults';
export { APP_KEYS, KNOWN_KEYS } from './pm2-keys';
