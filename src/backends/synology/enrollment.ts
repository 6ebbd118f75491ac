/**
 * 2FA device enrollment (docs/synology-dsm.md#two-step-verification): login error 403 = one-time code required; log in
 * with otp_code + enable_device_token=yes + device_name; keep the returned device_id and send it (with
 * device_name) from then on.
 * Run once by an operator with a fresh OTP code; the returned device id goes into the env var named by
 * deviceIdEnv, and the bot logs in with it from then on without a code.
 */
import { httpOptionsFor } from '../config.js';
import { HttpClient } from '../http.js';
import { BackendError } from '../types.js';
import { assertTransportAllowed, sessionFor } from './client.js';
import type { SynologyConfig } from './config.js';

/** Logs in once with `otpCode`, asks DSM to trust this device, logs out, and returns the device id. */
export async function enrollDevice(
  config: SynologyConfig,
  secret: string,
  otpCode: string,
  deps: { http?: HttpClient; backendName?: string } = {},
): Promise<string> {
  const name = deps.backendName ?? 'synology';
  assertTransportAllowed(name, config);
  if (!/^\d{6,8}$/.test(otpCode.trim())) {
    throw new BackendError(
      name,
      'invalid_input',
      `${name}: the 2FA code must be the 6-digit code from the authenticator app`,
    );
  }
  const http = deps.http ?? new HttpClient(httpOptionsFor(name, config));
  const session = sessionFor(name, config, secret, http);
  try {
    const deviceId = await session.loginWith({ otpCode: otpCode.trim(), enableDeviceToken: true });
    if (!deviceId) {
      // DSM answers device_id "" when it issues none: without 2FA, and on some DSM 7.0.1 updates with 2FA on
      // (github.com/home-assistant/core/issues/64867).
      throw new BackendError(
        name,
        'protocol',
        `${name}: DSM accepted the login but issued no device token: is 2FA enabled for "${config.user}"? ` +
          'Without 2FA no device token is needed. If it is enabled, update DSM (DSM 7.0.1 was seen issuing none)',
      );
    }
    return deviceId;
  } finally {
    await session.logout();
    if (!deps.http) await http.close();
  }
}

/** The env var to store the device id in: the configured one, else DSM_<BACKEND>_DEVICE_ID. */
export function deviceIdEnvName(backendName: string, config: Pick<SynologyConfig, 'deviceIdEnv'>): string {
  return config.deviceIdEnv ?? `DSM_${backendName.toUpperCase().replace(/[^A-Z0-9]+/g, '_')}_DEVICE_ID`;
}
