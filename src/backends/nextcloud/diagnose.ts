/**
 * The doctor's checks of a Nextcloud (also used for user_oidc, which authenticates the same way): status.php
 * without credentials (reachable, TLS, version, maintenance, clock), then exactly ONE authenticated OCS call,
 * GET /cloud/user, which says whether the credentials work and whether the account is in the admin group
 * (docs/nextcloud-ocs.md#login-throttling says why a refused login is never repeated).
 */
import { basicAuth, probeClient, probeServer, type ProbeTarget } from '../diagnose.js';
import { BackendError, type DiagnosisCheck } from '../types.js';

/**
 * The shapes of Nextcloud app passwords: five groups of five letters and digits from Settings > Security > Devices &
 * sessions (four groups of upper-case letters on old servers; AuthSettingsController::generateRandomDeviceToken,
 * https://github.com/nextcloud/server/blob/master/apps/settings/lib/Controller/AuthSettingsController.php), or 72
 * letters and digits from the login flow. A login password rarely looks like either, so this is a hint, not proof.
 */
const APP_PASSWORD = /^([A-Za-z0-9]{5}-){3,4}[A-Za-z0-9]{5}$|^[A-Za-z0-9]{72}$/;

export interface NextcloudProbe extends ProbeTarget {
  user: string;
  secret: string;
  secretEnv: string;
  apiVersion: 'v1' | 'v2';
}

export async function diagnoseNextcloud(probe: NextcloudProbe): Promise<DiagnosisCheck[]> {
  const { checks, response } = await probeServer(probe, { method: 'GET', path: '/status.php', idempotent: true });
  if (!response) return checks;
  checks.push(statusCheck(probe, response.status, response.text));
  if (checks.some((c) => c.status === 'fail')) return checks;
  checks.push(...(await credentialChecks(probe)));
  checks.push(
    APP_PASSWORD.test(probe.secret)
      ? { check: 'app password', status: 'ok', detail: `${probe.secretEnv} has the shape of an app password` }
      : {
          check: 'app password',
          status: 'warn',
          detail:
            `${probe.secretEnv} does not look like an app password (xxxxx-xxxxx-xxxxx-xxxxx-xxxxx): ` +
            'a login password stops working once 2FA is enforced, and is slower (hashed on every request)',
          fix:
            `create an app password for ${probe.user} (Settings > Security > Devices & sessions) ` +
            `and put it in ${probe.secretEnv}`,
        },
  );
  return checks;
}

function statusCheck(probe: NextcloudProbe, status: number, text: string): DiagnosisCheck {
  let body: { installed?: unknown; maintenance?: unknown; versionstring?: unknown } | undefined;
  try {
    body = status === 200 ? (JSON.parse(text) as typeof body) : undefined;
  } catch {
    body = undefined;
  }
  if (!body || typeof body.versionstring !== 'string') {
    return {
      check: 'nextcloud',
      status: 'warn',
      detail: `${probe.http.baseUrl}/status.php answered HTTP ${status} without a Nextcloud status: version unknown`,
      fix: 'check that url is the Nextcloud root (with its path prefix, e.g. https://example.com/nextcloud)',
    };
  }
  if (body.maintenance === true) {
    return {
      check: 'nextcloud',
      status: 'fail',
      detail: `Nextcloud ${body.versionstring} is in maintenance mode: every change will fail until it ends`,
      fix: 'wait for the upgrade to finish, or end it: occ maintenance:mode --off',
    };
  }
  return { check: 'nextcloud', status: 'ok', detail: `Nextcloud ${body.versionstring}` };
}

/** ONE authenticated request: never repeated, whatever it answers. */
async function credentialChecks(probe: NextcloudProbe): Promise<DiagnosisCheck[]> {
  const client = probeClient(probe);
  const where = `${probe.user} (${probe.secretEnv})`;
  try {
    const response = await client.request({
      method: 'GET',
      path: `/ocs/${probe.apiVersion}.php/cloud/user`,
      query: { format: 'json' },
      headers: {
        authorization: basicAuth(probe.user, probe.secret),
        'OCS-APIRequest': 'true',
        accept: 'application/json',
      },
    });
    if (response.status === 401) {
      return [
        {
          check: 'credentials',
          status: 'fail',
          detail:
            `Nextcloud refused ${where} (HTTP 401; one attempt made, none repeated: ` +
            'Nextcloud locks an address out after about 11 failed logins)',
          fix:
            `create an app password for ${probe.user} (Settings > Security > Devices & sessions) ` +
            `and put it in ${probe.secretEnv}`,
        },
      ];
    }
    if (response.status === 429) {
      return [
        {
          check: 'credentials',
          status: 'fail',
          detail: `Nextcloud is throttling this address after failed logins (HTTP 429)`,
          fix: 'fix the password first, then: occ security:bruteforce:reset <this host address>',
        },
      ];
    }
    const data = ocsData(response.text);
    if (response.status !== 200 || !data || typeof data.id !== 'string') {
      return [
        {
          check: 'credentials',
          status: 'fail',
          detail:
            `GET /ocs/${probe.apiVersion}.php/cloud/user answered HTTP ${response.status}, ` +
            'not the OCS user record',
          fix:
            response.status === 412
              ? 'a proxy strips the OCS-APIRequest header: let it through'
              : 'check that url points at Nextcloud and that apiVersion fits the server',
        },
      ];
    }
    const checks: DiagnosisCheck[] = [
      { check: 'credentials', status: 'ok', detail: `logged in as ${data.id} with one request` },
    ];
    const groups = Array.isArray(data.groups) ? data.groups.map(String) : undefined;
    checks.push(
      groups === undefined
        ? { check: 'admin', status: 'warn', detail: 'Nextcloud did not list the account groups: admin rights unknown' }
        : groups.includes('admin')
          ? { check: 'admin', status: 'ok', detail: `${data.id} is in the admin group` }
          : {
              check: 'admin',
              status: 'fail',
              detail:
                `${data.id} is not in the admin group (groups: ${groups.join(', ') || 'none'}): ` +
                'creating, deleting and quota changes will be refused',
              fix: `add ${data.id} to the admin group (Users > ${data.id} > Groups), or name an admin account`,
            },
    );
    return checks;
  } catch (err) {
    return [
      {
        check: 'credentials',
        status: 'fail',
        detail: err instanceof BackendError ? err.message : String(err),
        fix: 'fix reachability first',
      },
    ];
  } finally {
    await client.close();
  }
}

function ocsData(text: string): { id?: unknown; groups?: unknown } | undefined {
  try {
    const parsed = JSON.parse(text) as { ocs?: { data?: { id?: unknown; groups?: unknown } } };
    return parsed.ocs?.data;
  } catch {
    return undefined;
  }
}
