export { nextcloudConfigSchema } from './config.js';
export type { NextcloudConfig } from './config.js';
export { createNextcloudClient, NextcloudClient } from './client.js';
export { OcsFailure, OcsTransport, EDIT_WINDOW_MS, LOCKOUT_MS, isLostAnswer } from './ocs.js';
export type { OcsApiVersion, OcsMethod, OcsRequestOptions } from './ocs.js';
export { quotaParam, readQuota, storedQuotaBytes, formatQuota, parseStoredQuota } from './quota.js';
