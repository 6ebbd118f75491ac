/**
 * Pure pieces of the Synology backend: per-namespace error mapping (docs/synology-dsm.md#error-codes), quota
 * units, the `expired` field, parameter encoding and the config schema.
 */
import { describe, expect, it } from 'vitest';
import { dsmError, type DsmErrorContext } from '../../src/backends/synology/errors.js';
import { isExpired } from '../../src/backends/synology/expiry.js';
import { encodeForm, encodeParamValue } from '../../src/backends/synology/params.js';
import { bytesToDsmMb, dsmMbToBytes } from '../../src/backends/synology/quota-units.js';
import { synologyConfigSchema } from '../../src/backends/synology/config.js';

const ctx = (api: string, extra: Partial<DsmErrorContext> = {}): DsmErrorContext => ({
  backend: 'nas',
  api,
  method: 'm',
  account: 'accountdesk',
  secretEnv: 'DSM_NAS_PASSWORD',
  deviceIdEnv: undefined,
  ...extra,
});

describe('DSM error codes, mapped per API namespace', () => {
  it.each([
    // common codes, any API
    ['SYNO.Core.User', 100, 'unknown'],
    ['SYNO.Core.User', 101, 'protocol'],
    ['SYNO.Core.Quota', 102, 'unsupported'],
    ['SYNO.Core.Quota', 103, 'unsupported'],
    ['SYNO.Core.User.Group', 104, 'unsupported'],
    ['SYNO.Core.User', 105, 'forbidden'],
    ['SYNO.Core.User', 106, 'unavailable'],
    ['SYNO.Core.User', 107, 'busy'],
    ['SYNO.Core.User', 109, 'busy'],
    ['SYNO.Core.User', 110, 'busy'],
    ['SYNO.Core.User', 111, 'busy'],
    ['SYNO.Core.User', 114, 'protocol'],
    ['SYNO.Core.User', 117, 'busy'],
    ['SYNO.Core.User', 118, 'busy'],
    ['SYNO.Core.User', 119, 'unavailable'],
    ['SYNO.Core.User', 120, 'invalid_input'],
    ['SYNO.Core.User', 150, 'unavailable'],
    // auth
    ['SYNO.API.Auth', 400, 'auth_failed'],
    ['SYNO.API.Auth', 401, 'auth_failed'],
    ['SYNO.API.Auth', 402, 'forbidden'],
    ['SYNO.API.Auth', 403, 'auth_failed'],
    ['SYNO.API.Auth', 404, 'auth_failed'],
    ['SYNO.API.Auth', 406, 'auth_failed'],
    ['SYNO.API.Auth', 407, 'locked_out'],
    ['SYNO.API.Auth', 408, 'auth_failed'],
    ['SYNO.API.Auth', 409, 'auth_failed'],
    ['SYNO.API.Auth', 410, 'auth_failed'],
    ['SYNO.API.Auth', 411, 'locked_out'],
    // users and quota
    ['SYNO.Core.User', 3101, 'invalid_input'],
    ['SYNO.Core.User', 3103, 'invalid_input'],
    ['SYNO.Core.User', 3106, 'not_found'],
    ['SYNO.Core.User', 3107, 'already_exists'],
    ['SYNO.Core.User', 3108, 'already_exists'],
    ['SYNO.Core.User', 3109, 'forbidden'],
    ['SYNO.Core.User', 3110, 'forbidden'],
    ['SYNO.Core.User', 3111, 'unsupported'],
    ['SYNO.Core.User', 3112, 'busy'],
    ['SYNO.Core.User', 3113, 'busy'],
    ['SYNO.Core.User', 3114, 'already_exists'],
    ['SYNO.Core.User', 3115, 'forbidden'],
    ['SYNO.Core.User', 3116, 'unknown'],
    ['SYNO.Core.Quota', 3117, 'invalid_input'],
    ['SYNO.Core.Quota', 3118, 'unavailable'],
    ['SYNO.Core.User', 3121, 'password_policy'],
    ['SYNO.Core.User', 3122, 'password_policy'],
    ['SYNO.Core.User', 3123, 'password_policy'],
    ['SYNO.Core.User', 3124, 'password_policy'],
    // groups
    ['SYNO.Core.User.Group', 3205, 'not_found'],
    ['SYNO.Core.User.Group', 3206, 'already_exists'],
    ['SYNO.Core.User.Group', 3207, 'already_exists'],
    ['SYNO.Core.User.Group', 3208, 'invalid_input'],
  ] as const)('%s %i -> %s', (api, code, expected) => {
    const err = dsmError(ctx(api), code);
    expect(err.code).toBe(expected);
    expect(err.remoteCode).toBe(code);
    expect(err.backend).toBe('nas');
    expect(err.message).toMatch(/^nas: /);
  });

  it("a code from another namespace is not given that namespace's meaning", () => {
    // synology-api's global table prints the 2FA text for any 403 (docs/synology-dsm.md#error-codes).
    expect(dsmError(ctx('SYNO.Core.User'), 403).code).toBe('unknown');
    expect(dsmError(ctx('SYNO.Core.User'), 403).message).not.toContain('2FA');
    expect(dsmError(ctx('SYNO.Core.User.Group'), 3106).code).toBe('unknown');
    expect(dsmError(ctx('SYNO.API.Auth'), 3106).code).toBe('unknown');
    expect(dsmError(ctx('SYNO.Core.User'), 3205).code).toBe('unknown');
  });

  it('the words tell an admin what to do', () => {
    expect(dsmError(ctx('SYNO.API.Auth', { deviceIdEnv: 'DSM_NAS_DEVICE_ID' }), 400).message).toMatch(
      /DSM_NAS_PASSWORD.*DSM_NAS_DEVICE_ID/,
    );
    expect(dsmError(ctx('SYNO.Core.User'), 3112).message).toContain(
      'DSM: another admin is editing this user, try again',
    );
    expect(dsmError(ctx('SYNO.Core.User'), 105).message).toContain('administrators group');
    expect(dsmError(ctx('SYNO.Core.User', { subject: 'bob' }), 3106).message).toContain('"bob"');
    expect(dsmError(ctx('SYNO.Core.User'), 9999).message).toContain('9999');
  });

  it('busy answers are retryable; refused credentials are not', () => {
    expect(dsmError(ctx('SYNO.Core.User'), 3112).retryable).toBe(true);
    expect(dsmError(ctx('SYNO.Core.User'), 117).retryable).toBe(true);
    for (const code of [400, 401, 403, 404, 407]) expect(dsmError(ctx('SYNO.API.Auth'), code).retryable).toBe(false);
    expect(dsmError(ctx('SYNO.Core.User'), 119).retryable).toBe(false);
  });
});

describe('quota units', () => {
  it('bytes -> MB rounds up; null -> 0; MB -> bytes with 0 = unlimited', () => {
    expect(bytesToDsmMb(1)).toBe(1);
    expect(bytesToDsmMb(1024 * 1024)).toBe(1);
    expect(bytesToDsmMb(1024 * 1024 + 1)).toBe(2);
    expect(bytesToDsmMb(null)).toBe(0);
    expect(dsmMbToBytes(0)).toBeNull();
    expect(dsmMbToBytes(3)).toBe(3 * 1024 * 1024);
  });

  it('refuses 0, negatives, fractions and non-finite numbers', () => {
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => bytesToDsmMb(bad)).toThrow(RangeError);
  });
});

describe('a 2FA login refusal (403) says what to run', () => {
  const enroll = 'npm run synology:enroll -- <config-file> nas <6-digit code>';

  it('no device id sent: the account needs 2FA, run the enrollment and where to put the device id', () => {
    const message = dsmError(ctx('SYNO.API.Auth', { secondFactors: ['otp'] }), 403).message;
    expect(message).toBe(
      `nas: this DSM account ("accountdesk") needs 2FA (403): run ${enroll} and put the device id it prints in ` +
        'the env var deviceIdEnv names (add deviceIdEnv to backend "nas")',
    );
    const named = dsmError(ctx('SYNO.API.Auth', { deviceIdEnv: 'DSM_NAS_DEVICE_ID' }), 403).message;
    expect(named).toMatch(/needs 2FA \(403\): run npm run synology:enroll .* in DSM_NAS_DEVICE_ID$/);
  });

  it('a device id was sent: DSM no longer trusts it, enroll again', () => {
    const message = dsmError(
      ctx('SYNO.API.Auth', { deviceIdEnv: 'DSM_NAS_DEVICE_ID', sentDeviceId: true, secondFactors: ['otp'] }),
      403,
    ).message;
    expect(message).toBe(
      'nas: DSM no longer trusts the 2FA device id in DSM_NAS_DEVICE_ID and asks "accountdesk" for a code (403): ' +
        `run ${enroll} again and put the new device id in DSM_NAS_DEVICE_ID`,
    );
  });

  it('a factor other than an OTP code cannot be answered: say which, and to switch to an authenticator app', () => {
    const message = dsmError(ctx('SYNO.API.Auth', { secondFactors: ['some_other_factor'] }), 403).message;
    expect(message).toContain('needs a second sign-in factor AccountDesk cannot give (some_other_factor; 403)');
    expect(message).toContain('authenticator app (OTP)');
  });
});

describe('expired field', () => {
  const now = new Date(2025, 5, 15, 23, 59);
  it.each([
    ['now', true],
    ['normal', false],
    ['never', false], // accepted by DSM on create/set (N4S4's real-NAS tests send it)
    ['2025/6/14', true],
    ['2025/6/15', false],
    ['2025/6/16', false],
    ['2024/12/31', true],
    [undefined, false],
  ])('%s -> expired %s', (value, expected) => {
    expect(isExpired(value, now)).toBe(expected);
  });
});

describe('parameter encoding', () => {
  it('booleans, arrays and objects are JSON literals; strings stay raw', () => {
    expect(encodeParamValue(false)).toBe('false');
    expect(encodeParamValue(['a'])).toBe('["a"]');
    expect(encodeParamValue({ volume: '/volume1', quota: 1 })).toBe('{"volume":"/volume1","quota":1}');
    expect(encodeParamValue('alice')).toBe('alice');
    expect(encodeParamValue(7)).toBe('7');
    expect(encodeForm({ a: true, b: undefined, c: 'x y' })).toBe('a=true&c=x+y');
  });
});

describe('config schema', () => {
  const base = { kind: 'synology', url: 'https://nas.lan:5001', user: 'accountdesk', secretEnv: 'DSM_NAS_PASSWORD' };
  it('applies the defaults', () => {
    expect(synologyConfigSchema.parse(base)).toMatchObject({
      volume: '/volume1',
      sessionName: 'AccountDesk',
      deviceName: 'AccountDesk',
      mailPassword: false,
      allowPlainHttp: false,
      insecureTls: false,
      groupJoin: { maxPolls: 20, pollIntervalMs: 500 },
    });
  });

  it('refuses the webui session name, a secret in deviceIdEnv, unknown keys and plain http', () => {
    expect(synologyConfigSchema.safeParse({ ...base, sessionName: 'webui' }).success).toBe(false);
    expect(synologyConfigSchema.safeParse({ ...base, deviceIdEnv: 'abc123-device-token' }).success).toBe(false);
    expect(synologyConfigSchema.safeParse({ ...base, pasword: 'x' }).success).toBe(false);
    expect(synologyConfigSchema.safeParse({ ...base, url: 'http://nas.lan:5000' }).success).toBe(false);
    expect(synologyConfigSchema.safeParse({ ...base, url: 'http://nas.lan:5000', allowPlainHttp: true }).success).toBe(
      true,
    );
  });
});

describe('config schema with a broken url', () => {
  it('reports the url instead of throwing', () => {
    const r = synologyConfigSchema.safeParse({ kind: 'synology', url: 'not a url', user: 'a', secretEnv: 'X' });
    expect(r.success).toBe(false);
    expect(r.error?.issues.some((i) => i.path.join('.') === 'url')).toBe(true);
  });
});
