/** Config of a `kind: nmcuser_oidc` backend: Nextcloud users pre-provisioned for OpenID Connect login. */
import { z } from 'zod';
import { commonBackendFields } from '../config.js';

/**
 * What Nextcloud's setQuota accepts (docs/nextcloud-ocs.md#quota-values): none, default, digits (bytes) or a
 * human size in 1024 multiples. A binary unit is refused here: Nextcloud would silently store "5GiB" as 5 bytes
 * (observed through nmcuser_oidc 1.0.8 on Nextcloud 32.0.1).
 */
const NEXTCLOUD_QUOTA = /^(none|default|\d+(\.\d+)?\s*[kmgtp]?b?)$/i;

export const nmcuserOidcConfigSchema = z.strictObject({
  kind: z.literal('nmcuser_oidc'),
  ...commonBackendFields,
  /**
   * The OpenID Connect provider identifier as configured in Nextcloud's user_oidc settings (matched ignoring case).
   * It is part of every URL: nmcusers/{provider}/...
   */
  provider: z
    .string()
    .trim()
    .min(1, 'name the OpenID Connect provider identifier, as shown in Nextcloud > Settings > OpenID Connect'),
  /**
   * Quota for new users when the request names none. Omitted: the API's own default, 3GB
   * (docs/nextcloud-oidc.md#nmcuser_oidc-user-ids).
   */
  defaultQuota: z
    .string()
    .trim()
    .regex(NEXTCLOUD_QUOTA, 'must be a Nextcloud quota such as 3GB, 500 MB, 1TB, none or default (GiB is not accepted)')
    .optional(),
});

export type NmcuserOidcConfig = z.infer<typeof nmcuserOidcConfigSchema>;
