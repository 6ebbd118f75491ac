export { synologyConfigSchema, type SynologyConfig, type SynologyConfigInput } from './config.js';
export { createSynologyClient, type SynologyClientDeps } from './client.js';
export { enrollDevice, deviceIdEnvName } from './enrollment.js';
