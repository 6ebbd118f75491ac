/**
 * DSM error codes -> BackendError, mapped PER API namespace: codes above 400 mean different things in different
 * APIs (docs/synology-dsm.md#error-codes: synology-api's single global table prints the wrong text for auth 403).
 * Common codes 100-150 apply to every API. Messages say what an admin should do and never carry a secret (no params, no
 * sid, no token).
 */
import { BackendError, type BackendErrorCode } from '../types.js';

export interface DsmErrorContext {
  backend: string;
  api: string;
  method: string;
  /** The admin account AccountDesk logs in as (not a secret). */
  account: string;
  /** NAMES of the env vars holding the password and the 2FA device id. */
  secretEnv: string;
  deviceIdEnv: string | undefined;
  /** The user or group the call was about, for the message. */
  subject?: string;
  /** Whether the login sent a 2FA device id (a 403 then means DSM no longer trusts it). */
  sentDeviceId?: boolean;
  /** The second factors a 403 login answer asks for (e.g. ["otp"]). */
  secondFactors?: readonly string[];
}

type Mapping = { code: BackendErrorCode; message: string; retryable?: boolean };
type Table = Record<number, (ctx: DsmErrorContext) => Mapping>;

/**
 * Codes for which the caller logs in again once and retries once
 * (docs/synology-dsm.md#session-expiry-and-refused-logins).
 */
export const SESSION_EXPIRED_CODES: ReadonlySet<number> = new Set([106, 119]);

const busy = (what: string): Mapping => ({ code: 'busy', message: `DSM is busy (${what}): try again in a minute` });

const COMMON: Table = {
  100: (c) => ({
    code: 'unknown',
    message: `DSM answered ${c.api} ${c.method} with "unknown error" (100): see DSM's system log`,
  }),
  101: (c) => ({
    code: 'protocol',
    message: `DSM says ${c.api} ${c.method} lacked api/method/version (101): a bug in AccountDesk, please report it`,
  }),
  102: (c) => ({
    code: 'unsupported',
    message: `this DSM has no ${c.api} API (102): update DSM (AccountDesk needs DSM 7)`,
  }),
  103: (c) => ({
    code: 'unsupported',
    message: `this DSM's ${c.api} has no method "${c.method}" (103): update DSM (AccountDesk needs DSM 7)`,
  }),
  104: (c) => ({
    code: 'unsupported',
    message:
      `this DSM does not support the version of ${c.api} AccountDesk uses (104): ` +
      'update DSM (AccountDesk needs DSM 7)',
  }),
  // Logins use Auth v7, so 105 is not the v6-sid trap (docs/synology-dsm.md#discovery-and-login) but a missing right.
  105: (c) => ({
    code: 'forbidden',
    message:
      `DSM refused ${c.api} ${c.method} (105, no permission): ` +
      `the account "${c.account}" must be a member of the administrators group`,
  }),
  106: () => ({
    code: 'unavailable',
    message:
      'DSM ended the session again right after a fresh login (106): ' +
      'check the NAS clock and session settings, then retry',
    retryable: false,
  }),
  107: () => busy('another login replaced our session, 107'),
  109: () => busy('109'),
  110: () => busy('110'),
  111: () => busy('111'),
  114: (c) => ({
    code: 'protocol',
    message: `DSM says ${c.api} ${c.method} lacked a required parameter (114): a bug in AccountDesk, please report it`,
  }),
  117: () => busy('117'),
  118: () => busy('118'),
  119: () => ({
    code: 'unavailable',
    message:
      'DSM rejected the session again right after a fresh login (119): ' +
      'check that no proxy strips the X-SYNO-TOKEN header, then retry',
    retryable: false,
  }),
  120: (c) => ({ code: 'invalid_input', message: `DSM refused a parameter of ${c.api} ${c.method} (120)${about(c)}` }),
  150: () => ({
    code: 'unavailable',
    message: 'DSM ended the session because our source IP address changed (150): try again',
    retryable: true,
  }),
};

const AUTH: Table = {
  400: (c) => ({
    code: 'auth_failed',
    message:
      `DSM refused the login of "${c.account}" (400: wrong account or password). Check the value of ${c.secretEnv}` +
      (c.deviceIdEnv ? ` and of ${c.deviceIdEnv}` : '') +
      ', then restart AccountDesk. It did not try again: repeated bad logins make DSM block its IP address (407)',
  }),
  401: (c) => ({
    code: 'auth_failed',
    message: `DSM says the account "${c.account}" is disabled (401): enable it in Control Panel > User`,
  }),
  402: (c) => ({
    code: 'forbidden',
    message:
      `DSM denied "${c.account}" the right to sign in (402): ` +
      'allow it DSM access in Control Panel > User > Applications',
  }),
  403: (c) => ({ code: 'auth_failed', message: secondFactorRequired(c) }),
  404: (c) => ({
    code: 'auth_failed',
    message:
      `DSM refused the 2FA code or device token of "${c.account}" (404): ` +
      'enroll the device again (npm run synology:enroll)' +
      (c.deviceIdEnv ? ` and update ${c.deviceIdEnv}` : ''),
  }),
  406: (c) => ({
    code: 'auth_failed',
    message:
      `2FA is enforced for "${c.account}" but not set up (406): ` +
      'sign in to DSM once as that user to set it up, then run npm run synology:enroll',
  }),
  407: () => ({
    code: 'locked_out',
    message:
      "DSM has blocked AccountDesk's IP address after too many failed logins (407): remove it from " +
      'Control Panel > Security > Protection > Allow/Block List, fix the password, then restart AccountDesk',
  }),
  408: (c) => passwordExpired(c, 408),
  409: (c) => passwordExpired(c, 409),
  410: (c) => passwordExpired(c, 410),
  411: (c) => ({
    code: 'locked_out',
    message: `DSM has locked the account "${c.account}" (411): unlock it in Control Panel > User`,
  }),
};

/**
 * 403: the account has 2FA. AccountDesk can only answer an authenticator-app code (type "otp"), once, at
 * enrollment; afterwards it logs in with the device id DSM issued then.
 */
function secondFactorRequired(c: DsmErrorContext): string {
  const enroll = `npm run synology:enroll -- <config-file> ${c.backend} <6-digit code>`;
  const envHint = c.deviceIdEnv ?? `the env var deviceIdEnv names (add deviceIdEnv to backend "${c.backend}")`;
  const factors = c.secondFactors ?? [];
  if (factors.length > 0 && !factors.includes('otp')) {
    return (
      `this DSM account ("${c.account}") needs a second sign-in factor AccountDesk cannot give ` +
      `(${factors.join(', ')}; 403): switch its 2-factor authentication to an authenticator app (OTP), ` +
      `then run ${enroll}`
    );
  }
  if (c.sentDeviceId) {
    return (
      `DSM no longer trusts the 2FA device id in ${envHint} and asks "${c.account}" for a code (403): ` +
      `run ${enroll} again and put the new device id in ${envHint}`
    );
  }
  return (
    `this DSM account ("${c.account}") needs 2FA (403): run ${enroll} ` +
    `and put the device id it prints in ${envHint}`
  );
}

function passwordExpired(c: DsmErrorContext, code: number): Mapping {
  return {
    code: 'auth_failed',
    message:
      `the DSM password of "${c.account}" has expired or must be changed (${code}): ` +
      `sign in to DSM as that user, change it, and update ${c.secretEnv}`,
  };
}

const USER: Table = {
  3101: (c) => ({
    code: 'invalid_input',
    message: `DSM refused an argument of ${c.api} ${c.method} (3101)${about(c)}`,
  }),
  3103: (c) => ({ code: 'invalid_input', message: `DSM refused a value of ${c.api} ${c.method} (3103)${about(c)}` }),
  3106: (c) => ({ code: 'not_found', message: `DSM has no user${c.subject ? ` "${c.subject}"` : ''} (3106)` }),
  3107: (c) => ({
    code: 'already_exists',
    message: `the name${c.subject ? ` "${c.subject}"` : ''} is already used on DSM (3107): pick another`,
  }),
  3108: (c) => ({
    code: 'already_exists',
    message: `the name${c.subject ? ` "${c.subject}"` : ''} is already used or reserved on DSM (3108): pick another`,
  }),
  3109: () => ({ code: 'forbidden', message: 'DSM will not disable the last administrator (3109)' }),
  3110: () => ({
    code: 'forbidden',
    message: 'DSM has reached its maximum number of users (3110): delete unused accounts first',
  }),
  3111: () => ({
    code: 'unsupported',
    message: 'DSM could not set up the user home (3111): enable User Home in Control Panel > User > Advanced',
  }),
  3112: () => ({ code: 'busy', message: 'DSM: another admin is editing this user, try again' }),
  3113: () => ({ code: 'busy', message: 'DSM: another admin is editing this user, try again' }),
  3114: (c) => ({
    code: 'already_exists',
    message: `the name${c.subject ? ` "${c.subject}"` : ''} is reserved on DSM (3114): pick another`,
  }),
  3115: (c) => ({
    code: 'forbidden',
    message: `DSM does not allow changing the built-in user${c.subject ? ` "${c.subject}"` : ''} (3115)`,
  }),
  3116: (c) => ({
    code: 'unknown',
    message: `DSM could not save the user${c.subject ? ` "${c.subject}"` : ''} (3116): see DSM's system log`,
  }),
  3117: () => ({ code: 'invalid_input', message: 'DSM could not set the quota (3117): it may exceed the volume size' }),
  3118: () => ({
    code: 'unavailable',
    message: 'DSM has no space left on the volume (3118): free some space first',
    retryable: false,
  }),
  3121: () => ({ code: 'password_policy', message: "DSM refused the password (3121): it breaks DSM's password rules" }),
  3122: () => ({ code: 'password_policy', message: 'DSM refused the password (3122): it was used before' }),
  3123: () => ({
    code: 'password_policy',
    message: "DSM refused the password (3123): it is not strong enough for DSM's password policy",
  }),
  3124: () => ({ code: 'password_policy', message: "DSM refused the password (3124): it breaks DSM's password rules" }),
};

const GROUP: Table = {
  3205: (c) => ({
    code: 'not_found',
    message: `DSM has no such group${c.subject ? ` (${c.subject})` : ''} (3205): check the group name`,
  }),
  3206: () => ({ code: 'already_exists', message: 'that group name is already used on DSM (3206)' }),
  3207: () => ({ code: 'already_exists', message: 'that group name is already used on DSM (3207)' }),
  3208: () => ({ code: 'invalid_input', message: 'DSM refused the group name (3208)' }),
};

/** The namespace table for an API: auth codes only for SYNO.API.Auth, 31xx for users/quota, 32xx for groups. */
function tableFor(api: string): Table {
  if (api === 'SYNO.API.Auth') return AUTH;
  if (api === 'SYNO.Core.User.Group' || api === 'SYNO.Core.Group') return GROUP;
  if (api === 'SYNO.Core.User' || api === 'SYNO.Core.Quota') return USER;
  return {};
}

export function dsmError(ctx: DsmErrorContext, remoteCode: number, cause?: unknown): BackendError {
  const mapper = tableFor(ctx.api)[remoteCode] ?? (remoteCode < 200 ? COMMON[remoteCode] : undefined);
  const mapping: Mapping = mapper
    ? mapper(ctx)
    : {
        code: 'unknown',
        message:
          `DSM answered ${ctx.api} ${ctx.method} with error ${remoteCode}${about(ctx)}, ` +
          "which AccountDesk does not know: see DSM's system log",
      };
  return new BackendError(ctx.backend, mapping.code, `${ctx.backend}: ${mapping.message}`, {
    remoteCode,
    ...(mapping.retryable === undefined ? {} : { retryable: mapping.retryable }),
    ...(cause === undefined ? {} : { cause }),
  });
}

function about(c: DsmErrorContext): string {
  return c.subject ? ` for "${c.subject}"` : '';
}
