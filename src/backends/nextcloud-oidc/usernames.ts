/**
 * nmcuser_oidc and user_oidc take the OpenID Connect subject as it comes and hash ids over 64 characters into a
 * Nextcloud uid (docs/nextcloud-oidc.md), so only the length of a sane subject is limited here.
 */
export function oidcSubjectProblem(name: string): string | undefined {
  return name.length > 255 ? 'is longer than 255 characters' : undefined;
}
