/**
 * The quota value both OpenID Connect provisioning APIs send (nmcuser_oidc's `quota` field, user_oidc's `quota`
 * parameter). Both hand the string to Nextcloud's IUser::setQuota, so Nextcloud's own codec in
 * ../nextcloud/nextcloud-quota.ts decides what is accepted, stored and read back; only the written form differs from
 * OCS editUser's digits. Never a binary unit: Nextcloud reads "5GiB" as 5 bytes (observed on 32.0.1).
 */
import { quotaParam } from '../nextcloud/nextcloud-quota.js';

const UNITS: ReadonlyArray<readonly [suffix: string, factor: number]> = [
  ['PB', 1024 ** 5],
  ['TB', 1024 ** 4],
  ['GB', 1024 ** 3],
  ['MB', 1024 ** 2],
  ['KB', 1024],
];

/**
 * `none` for unlimited, else the README's form ("25GB", docs/nextcloud-oidc.md#nmcuser_oidc-routes) in the largest unit
 * that divides the value exactly, else plain digits: either way the server computes exactly the bytes asked for. Never
 * "0": user_oidc applies the quota only `if ($quota)`, and PHP treats the string "0" as false, so a zero quota would be
 * silently dropped.
 */
export function oidcQuotaParam(quotaBytes: number | null): string {
  const digits = quotaParam(quotaBytes); // validates (RangeError) and maps null to 'none'
  if (quotaBytes === null) return digits;
  if (quotaBytes === 0) return '0 B';
  const unit = UNITS.find(([, factor]) => quotaBytes % factor === 0);
  return unit ? `${quotaBytes / unit[1]}${unit[0]}` : digits;
}
