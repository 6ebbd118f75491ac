/**
 * The catalogue of backend kinds: each kind's config schema and how to build its client. src/config composes the
 * schemas; src/app.ts builds one client per configured backend. Adding a kind = one folder + one entry here.
 */
import { z } from 'zod';
import type { Logger } from 'pino';
import { createNextcloudClient } from './nextcloud/client.js';
import { nextcloudConfigSchema } from './nextcloud/config.js';
import { createNmcuserOidcClient } from './nextcloud-oidc/nmcuser-oidc-client.js';
import { nmcuserOidcConfigSchema } from './nextcloud-oidc/nmcuser-oidc-config.js';
import { createUserOidcClient } from './nextcloud-oidc/user-oidc-client.js';
import { userOidcConfigSchema } from './nextcloud-oidc/user-oidc-config.js';
import { createSynologyClient } from './synology/client.js';
import { synologyConfigSchema } from './synology/config.js';
import { httpOptionsFor } from './config.js';
import { diagnoseNextcloud } from './nextcloud/diagnose.js';
import { diagnoseNmcuserOidc } from './nextcloud-oidc/diagnose.js';
import { diagnoseSynology } from './synology/diagnose.js';
import type { BackendClient, DiagnosisCheck } from './types.js';

export const backendConfigSchema = z.discriminatedUnion('kind', [
  nextcloudConfigSchema,
  nmcuserOidcConfigSchema,
  userOidcConfigSchema,
  synologyConfigSchema,
]);

export type BackendConfig = z.infer<typeof backendConfigSchema>;

export interface BackendDeps {
  logger: Logger;
  env: NodeJS.ProcessEnv;
}

export function createBackend(name: string, config: BackendConfig, secret: string, deps: BackendDeps): BackendClient {
  if (config.insecureTls) {
    deps.logger.warn(
      { backend: name },
      `TLS certificate checks are OFF for backend "${name}" (insecureTls: true): use caFile instead`,
    );
  }
  const client = createClient(name, config, secret, deps);
  client.diagnose = () => diagnoseBackend(name, config, secret, deps, client);
  return client;
}

function createClient(name: string, config: BackendConfig, secret: string, deps: BackendDeps): BackendClient {
  switch (config.kind) {
    case 'nextcloud':
      return createNextcloudClient(name, config, secret);
    case 'nmcuser_oidc':
      return createNmcuserOidcClient(name, config, secret);
    case 'user_oidc':
      return createUserOidcClient(name, config, secret);
    case 'synology':
      return createSynologyClient(name, config, secret, {
        logger: deps.logger,
        deviceId: config.deviceIdEnv ? deps.env[config.deviceIdEnv] : undefined,
      });
  }
}

/** The doctor's probes of one backend (each kind's diagnose.ts); they never change anything on the server. */
function diagnoseBackend(
  name: string,
  config: BackendConfig,
  secret: string,
  deps: BackendDeps,
  client: BackendClient,
): Promise<DiagnosisCheck[]> {
  const target = { name, http: httpOptionsFor(name, config) };
  const credentials = { user: config.user, secret, secretEnv: config.secretEnv };
  switch (config.kind) {
    case 'nextcloud':
      return diagnoseNextcloud({ ...target, ...credentials, apiVersion: config.apiVersion });
    case 'user_oidc':
      // user_oidc lives in a Nextcloud and logs in as a Nextcloud admin: the same checks apply.
      return diagnoseNextcloud({ ...target, ...credentials, apiVersion: 'v2' });
    case 'nmcuser_oidc':
      return diagnoseNmcuserOidc({ ...target, user: config.user, provider: config.provider }, client);
    case 'synology':
      return diagnoseSynology({
        ...target,
        account: config.user,
        password: secret,
        secretEnv: config.secretEnv,
        sessionName: config.sessionName,
        deviceName: config.deviceName,
        deviceIdEnv: config.deviceIdEnv,
        deviceId: config.deviceIdEnv ? deps.env[config.deviceIdEnv] : undefined,
      });
  }
}
