/**
 * The doctor's checks of an nmcuser_oidc backend: its API answers (reachable, TLS, clock), then one read of a user
 * that does not exist, which proves the admin credentials and the provider without changing anything.
 * (user_oidc backends are checked as a Nextcloud: src/backends/nextcloud/diagnose.ts.)
 */
import { credentialsByRead, probeServer, type ProbeTarget } from '../diagnose.js';
import type { BackendClient, DiagnosisCheck } from '../types.js';

/** A user name nobody has: reading it proves access and changes nothing. */
const PROBE_USER = 'accountdesk-doctor-probe';

export async function diagnoseNmcuserOidc(
  probe: ProbeTarget & { user: string; provider: string },
  client: Pick<BackendClient, 'getUser'>,
): Promise<DiagnosisCheck[]> {
  const { checks, response } = await probeServer(probe, {
    method: 'GET',
    path: `/index.php/apps/nmcuser_oidc/api/1.1/nmcusers/${encodeURIComponent(probe.provider)}`,
    idempotent: true,
  });
  if (!response) return checks;
  checks.push(await credentialsByRead(`${probe.user} on provider ${probe.provider}`, () => client.getUser(PROBE_USER)));
  return checks;
}
