/** Config of a `kind: user_oidc` backend: Nextcloud users pre-provisioned through user_oidc's own OCS API. */
import { z } from 'zod';
import { commonBackendFields } from '../config.js';

export const userOidcConfigSchema = z.strictObject({
  kind: z.literal('user_oidc'),
  ...commonBackendFields,
  /** Numeric id of the provider in user_oidc (occ user_oidc:provider lists it): sent as `providerId` on create. */
  providerId: z.number().int().positive("providerId is the provider's number shown by `occ user_oidc:provider`"),
  /** The provider's identifier (its name in the OpenID Connect settings): in the uid with uidMode providerBased. */
  providerIdentifier: z
    .string()
    .trim()
    .min(1, 'name the provider identifier shown in Nextcloud > Settings > OpenID Connect'),
  /**
   * How user_oidc turns a login (the token's sub) into a Nextcloud user id; it MUST match the provider's settings,
   * or AccountDesk reads and edits the wrong account (docs/nextcloud-oidc.md#user_oidc-user-ids):
   * - unique (user_oidc's default, "Use unique user id" on): sha256("{providerId}_0_{sub}");
   * - providerBased ("unique user id" off, "provider based id" on): "{providerIdentifier}-{sub}";
   * - raw (both off): the sub itself.
   * Any id over 64 characters is replaced by its sha256.
   */
  uidMode: z.enum(['unique', 'providerBased', 'raw']).default('unique'),
});

export type UserOidcConfig = z.infer<typeof userOidcConfigSchema>;
