/**
 * The doctor's checks of a DSM: API discovery without credentials (reachable, TLS, clock, the APIs AccountDesk
 * calls), then exactly ONE login (SYNO.API.Auth v7, with the 2FA device token when one is configured), a read of
 * the account's groups (administrators?) and a logout. A refused login is reported, never repeated: DSM blocks
 * the address after a few (docs/synology-dsm.md#session-expiry-and-refused-logins; the codes below are its login
 * codes, docs/synology-dsm.md#error-codes).
 */
import { probeClient, probeServer, type ProbeTarget } from '../diagnose.js';
import type { HttpClient } from '../http.js';
import type { DiagnosisCheck } from '../types.js';
import { encodeForm } from './params.js';
import { REQUIRED_APIS } from './session.js';

export interface SynologyProbe extends ProbeTarget {
  account: string;
  password: string;
  secretEnv: string;
  sessionName: string;
  deviceName: string;
  /** The env var naming the 2FA device id, and its value (undefined when unset). */
  deviceIdEnv?: string;
  deviceId?: string;
}

interface Envelope {
  success?: boolean;
  data?: Record<string, unknown>;
  error?: { code?: number };
}

/** SYNO.API.Auth login refusals: what each means and what to do. */
const LOGIN_REFUSALS: Record<number, { detail: string; fix: string }> = {
  400: { detail: 'wrong account or password', fix: 'put the password of the DSM account in the env var' },
  401: { detail: 'the account is disabled', fix: 'enable it in Control Panel > User & Group' },
  402: { detail: 'permission denied', fix: 'use an account of the administrators group' },
  403: {
    detail: '2-step verification is on for this account and no trusted device token was sent',
    fix: 'run npm run synology:enroll -- <config> <backend> <code>, then set deviceIdEnv and that variable',
  },
  404: { detail: 'the 2-step verification code was refused', fix: 'enroll again with a fresh code' },
  406: {
    detail: '2-step verification is enforced but not set up for this account',
    fix: 'sign in once in the DSM web interface to set it up, then enroll AccountDesk (npm run synology:enroll)',
  },
  407: {
    detail: 'DSM blocks this address after too many failed logins',
    fix: 'fix the password, then remove the address under Control Panel > Security > Protection > Allow/Block List',
  },
  408: { detail: 'the password has expired', fix: 'set a new password for the account in DSM' },
  409: { detail: 'the password has expired', fix: 'set a new password for the account in DSM' },
  410: { detail: 'the password must be changed', fix: 'set a new password for the account in DSM' },
  411: { detail: 'the account is locked', fix: 'unlock it in Control Panel > User & Group' },
};

export async function diagnoseSynology(probe: SynologyProbe): Promise<DiagnosisCheck[]> {
  const { checks, response } = await probeServer(probe, {
    method: 'GET',
    path: '/webapi/query.cgi',
    query: { api: 'SYNO.API.Info', version: 1, method: 'query', query: 'all' },
    idempotent: true,
  });
  if (!response) return checks;
  const apis = parseEnvelope(response.text)?.data;
  const missing = Object.entries(REQUIRED_APIS).filter(([name, version]) => {
    const info = apis?.[name] as { maxVersion?: unknown; minVersion?: unknown } | undefined;
    return typeof info?.maxVersion !== 'number' || info.maxVersion < version;
  });
  if (!apis) {
    checks.push({
      check: 'dsm',
      status: 'fail',
      detail: `${probe.http.baseUrl} did not answer SYNO.API.Info: not a Synology DSM`,
      fix: 'use the NAS address with its DSM port (https: usually 5001)',
    });
    return checks;
  }
  checks.push(
    missing.length === 0
      ? { check: 'dsm', status: 'ok', detail: `DSM offers ${Object.keys(REQUIRED_APIS).join(', ')}` }
      : {
          check: 'dsm',
          status: 'fail',
          detail: `DSM lacks ${missing.map(([name, version]) => `${name} v${version}`).join(', ')}`,
          fix: 'update the NAS to DSM 7 or later',
        },
  );
  if (missing.length > 0) return checks;
  if (probe.deviceIdEnv && !probe.deviceId) {
    checks.push({
      check: '2fa device',
      status: 'fail',
      detail: `deviceIdEnv names ${probe.deviceIdEnv}, which is not set: a 2FA login will be refused`,
      fix: `put the DSM_..._DEVICE_ID line npm run synology:enroll printed into .env as ${probe.deviceIdEnv}`,
    });
  }
  const authPath = pathOf(apis['SYNO.API.Auth']);
  const client = probeClient(probe);
  try {
    checks.push(...(await loginChecks(probe, client, authPath, pathOf(apis['SYNO.Core.User.Group']))));
  } finally {
    await client.close();
  }
  return checks;
}

async function loginChecks(
  probe: SynologyProbe,
  client: HttpClient,
  authPath: string,
  groupPath: string,
): Promise<DiagnosisCheck[]> {
  const params: Record<string, string | number> = {
    api: 'SYNO.API.Auth',
    version: REQUIRED_APIS['SYNO.API.Auth'],
    method: 'login',
    account: probe.account,
    passwd: probe.password,
    session: probe.sessionName,
    format: 'sid',
    enable_syno_token: 'yes',
    ...(probe.deviceId ? { device_id: probe.deviceId, device_name: probe.deviceName } : {}),
  };
  const login = parseEnvelope((await post(client, authPath, params)).text);
  if (!login?.success) {
    const code = login?.error?.code ?? 0;
    const known = LOGIN_REFUSALS[code];
    const deviceRefused = code === 403 && probe.deviceId !== undefined;
    return [
      {
        check: 'credentials',
        status: 'fail',
        detail:
          `DSM refused the login of ${probe.account} (${probe.secretEnv}), code ${code}: ` +
          `${deviceRefused ? 'the device token is no longer trusted' : (known?.detail ?? 'see the DSM log')}` +
          ' (one attempt made, none repeated)',
        fix: deviceRefused
          ? 'enroll again: npm run synology:enroll -- <config> <backend> <code>'
          : (known?.fix ?? 'check the account in DSM'),
      },
    ];
  }
  const sid = typeof login.data?.sid === 'string' ? login.data.sid : '';
  const token = typeof login.data?.synotoken === 'string' ? login.data.synotoken : undefined;
  const session = { _sid: sid, ...(token ? { SynoToken: token } : {}) };
  const checks: DiagnosisCheck[] = [
    {
      check: 'credentials',
      status: 'ok',
      detail: `logged in as ${probe.account} with one login${probe.deviceId ? ' (2FA device token accepted)' : ''}`,
    },
  ];
  try {
    const groups = parseEnvelope(
      (
        await post(
          client,
          groupPath,
          { api: 'SYNO.Core.User.Group', version: 1, method: 'get', name: probe.account, ...session },
          token,
        )
      ).text,
    );
    const names = Array.isArray(groups?.data?.groups)
      ? (groups.data.groups as { name?: unknown }[]).map((g) => String(g.name))
      : undefined;
    checks.push(
      names === undefined
        ? {
            check: 'admin',
            status: 'warn',
            detail: `DSM did not list the groups of ${probe.account} (code ${groups?.error?.code ?? '?'})`,
          }
        : names.includes('administrators')
          ? { check: 'admin', status: 'ok', detail: `${probe.account} is in administrators` }
          : {
              check: 'admin',
              status: 'fail',
              detail: `${probe.account} is not in administrators: every change will be refused (DSM code 105)`,
              fix: `add ${probe.account} to the administrators group in Control Panel > User & Group`,
            },
    );
  } finally {
    // Without _sid the session is not ended and sessions pile up on the NAS.
    await post(client, authPath, {
      api: 'SYNO.API.Auth',
      version: 1,
      method: 'logout',
      session: probe.sessionName,
      ...session,
    }).catch(() => undefined);
  }
  return checks;
}

function post(client: HttpClient, path: string, params: Record<string, string | number>, token?: string) {
  return client.request({
    method: 'POST',
    path: `/webapi/${path}`,
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      ...(token ? { 'x-syno-token': token } : {}),
    },
    body: encodeForm(params),
  });
}

function pathOf(info: unknown): string {
  const path = (info as { path?: unknown } | undefined)?.path;
  return typeof path === 'string' && /^[A-Za-z0-9_./-]+$/.test(path) && !path.includes('..') ? path : 'entry.cgi';
}

function parseEnvelope(text: string): Envelope | undefined {
  try {
    const parsed = JSON.parse(text) as Envelope;
    return typeof parsed === 'object' && parsed !== null ? parsed : undefined;
  } catch {
    return undefined;
  }
}
