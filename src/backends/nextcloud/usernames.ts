/**
 * Nextcloud user ids: letters, digits, space and _ . @ - ' , at most 64 characters. Others are refused by addUser
 * with 101 "invalid user id" (docs/nextcloud-ocs.md; observed on Nextcloud 32.0.1 for `bad/name`).
 */
export function nextcloudUsernameProblem(name: string): string | undefined {
  if (name.length > 64) return 'is longer than 64 characters (Nextcloud allows 64)';
  if (!/^[A-Za-z0-9 _.@\-']+$/.test(name)) return "may only contain letters, digits, spaces and _ . @ - ' on Nextcloud";
  return undefined;
}
