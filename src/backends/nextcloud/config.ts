/**
 * Config of one Nextcloud backend (OCS provisioning API). Hosted Nextclouds such as Leviia Drive Pro are the same
 * kind with apiVersion v2 (docs/nextcloud-ocs.md#hosted-nextclouds-leviia-drive-pro).
 */
import { z } from 'zod';
import { commonBackendFields } from '../config.js';

export const nextcloudConfigSchema = z.strictObject({
  kind: z.literal('nextcloud'),
  ...commonBackendFields,
  /**
   * Which OCS endpoint to call: v2 (/ocs/v2.php, real HTTP statuses) or v1 (/ocs/v1.php, HTTP 200 with the outcome
   * only in meta.statuscode). Every route exists under both (docs/nextcloud-ocs.md#transport).
   */
  apiVersion: z.enum(['v1', 'v2']).default('v2'),
  /** Groups every new user joins, besides those named in the request. They must already exist in Nextcloud. */
  defaultGroups: z.array(z.string().min(1, 'a group name cannot be empty')).default([]),
  /**
   * Language of new users and of their invitation mail (lowercase ISO code such as "fr"). Unset = the server's
   * default. An unknown code makes Nextcloud answer an error AFTER creating the user
   * (docs/nextcloud-ocs.md#creating-a-user).
   */
  /**
   * The window of Nextcloud's limit on user edits (50 per 600 s per admin account,
   * docs/nextcloud-ocs.md#rate-limit-on-user-edits): how long a batch waits after the server's 429, which names no
   * time. Change it only if the server's own limit was changed.
   */
  editLimitWindowMs: z.number().int('must be a whole number').min(1_000).max(86_400_000).default(600_000),
  language: z
    .string()
    .regex(/^[a-z]{2,3}(_[A-Za-z]{2,4})?$/, 'must be a language code such as "en", "fr" or "de_DE"')
    .optional(),
});

export type NextcloudConfig = z.infer<typeof nextcloudConfigSchema>;
