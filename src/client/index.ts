export { Client, Upload, type ClientOptions, type Body } from './client.js';
export { resolveConfig, readConfig, writeConfig, configPath, activeContext, toBaseUrl, toGrpcAddress, spoutDefaults, SPOUT_OUTPUT_BRANCH_ENV, DEFAULT_ADDRESS, DEFAULT_PORT } from './config.js';
export type { ConfigFile, ContextConfig, ResolvedConfig, SpoutDefaults } from './config.js';
export * from '../api/types.js';
export { SluiceError, isSluiceError, type ErrorCode } from '../errors/index.js';
export * from '../api/pps-types.js';
export * from '../api/auth-types.js';
