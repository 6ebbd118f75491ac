/** Nextcloud users provisioned for OpenID Connect login: nmcuser_oidc and user_oidc. */
export { nmcuserOidcConfigSchema, type NmcuserOidcConfig } from './nmcuser-oidc-config.js';
export { createNmcuserOidcClient, NmcuserOidcClient } from './nmcuser-oidc-client.js';
export { deriveUserOidcUid, nmcuserIdFor, type UidMode, type UidDerivation } from './ids.js';
export { oidcQuotaParam } from './quota.js';
export { userOidcConfigSchema, type UserOidcConfig } from './user-oidc-config.js';
export { createUserOidcClient, UserOidcClient } from './user-oidc-client.js';
