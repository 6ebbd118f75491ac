/** DSM user names: at most 64 characters, not a name DSM keeps for itself (docs/synology-dsm.md). */

/** DSM's reserved names (SYNO.Core.User.UsernamePolicy lists root, admin, ...). */
const DSM_RESERVED = new Set([
  'root',
  'admin',
  'administrator',
  'user',
  'users',
  'guest',
  'system',
  'daemon',
  'nobody',
]);

export function dsmUsernameProblem(name: string): string | undefined {
  if (name.length > 64) return 'is longer than 64 characters (DSM allows 64)';
  if (DSM_RESERVED.has(name.toLowerCase())) return 'is a name DSM reserves for itself; pick another';
  if (/[/\\:*?"<>|]/.test(name)) return 'may not contain / \\ : * ? " < > | on DSM';
  return undefined;
}
