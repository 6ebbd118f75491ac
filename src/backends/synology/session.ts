/**
 * One authenticated conversation with a DSM: API discovery, the v7 login with SynoToken, the session parameters
 * on every call, one re-login on an expired session, and logout. It knows nothing about users or quota.
 *
 * Facts enforced here (docs/synology-dsm.md#discovery-and-login to #session-expiry-and-refused-logins):
 * - Discovery via SYNO.API.Info (no login); call each API at /webapi/<discovered path>.
 * - Login with SYNO.API.Auth version 7 (a v6 sid can read but every mutation fails with 105), our own session
 *   name, format=sid, enable_syno_token=yes; device_id + device_name when a 2FA device token is configured.
 * - Every call carries `_sid`, and the SynoToken both as header X-SYNO-TOKEN and param SynoToken (DSM >= 7.1.1).
 * - 106/119: log in again ONCE and retry the call once; never loop.
 * - 400/401/407 (any login refusal) are never retried: repeated bad logins block our IP (407). A refused login is
 *   latched: later calls fail with the same error without contacting DSM, until AccountDesk is restarted with
 *   fixed credentials.
 * - Logout with session and `_sid`, otherwise sessions pile up on the NAS.
 */
import type { Logger } from '../../log.js';
import type { HttpClient, HttpResponse } from '../http.js';
import { BackendError } from '../types.js';
import { dsmError, SESSION_EXPIRED_CODES, type DsmErrorContext } from './errors.js';
import { encodeForm, type DsmParams } from './params.js';

/** API -> version AccountDesk calls. Checked against SYNO.API.Info before the first login. */
export const REQUIRED_APIS = {
  'SYNO.API.Auth': 7,
  'SYNO.Core.User': 1,
  'SYNO.Core.User.Group': 1,
  'SYNO.Core.Group': 1,
  'SYNO.Core.Quota': 1,
} as const;
export type DsmApiName = keyof typeof REQUIRED_APIS;

export interface DsmSessionOptions {
  backend: string;
  account: string;
  password: string;
  sessionName: string;
  deviceName: string;
  deviceId?: string | undefined;
  secretEnv: string;
  deviceIdEnv?: string | undefined;
  logger?: Logger | undefined;
}

interface ApiInfo {
  path: string;
  minVersion: number;
  maxVersion: number;
}

interface Session {
  sid: string;
  synoToken: string | undefined;
}

/** A DSM answer: `{success: true, data}` or `{success: false, error: {code}}`. */
interface DsmEnvelope {
  success: boolean;
  data?: unknown;
  error?: { code?: number; errors?: unknown };
}

export interface LoginExtras {
  /** One-time 2FA code (enrollment only). */
  otpCode?: string;
  /** Ask DSM for a device token to skip 2FA next time (enrollment only). */
  enableDeviceToken?: boolean;
}

export interface DsmCallOptions {
  /** Reads are safe to resend after a network error (HttpClient retries them); writes are not. */
  read?: boolean;
  /** The user or group the call is about, for error messages. */
  subject?: string;
}

export class DsmSession {
  private apis: Promise<Map<string, ApiInfo>> | undefined;
  private session: Session | undefined;
  private loginInFlight: Promise<Session> | undefined;
  /**
   * A refused login, kept so a wrong password costs exactly one login call
   * (docs/synology-dsm.md#session-expiry-and-refused-logins).
   */
  private loginRefusal: BackendError | undefined;
  /** Device id DSM returned at the last login (enrollment reads it). */
  lastDeviceId: string | undefined;

  constructor(
    private readonly http: HttpClient,
    private readonly opts: DsmSessionOptions,
  ) {}

  /** Calls `api`.`method` with the session, logging in first if needed. Returns `data` of a successful answer. */
  async call(api: DsmApiName, method: string, params: DsmParams = {}, options: DsmCallOptions = {}): Promise<unknown> {
    const session = await this.ensureSession();
    const first = await this.send(api, method, params, session, options);
    if (first.success) return first.data;
    const code = first.error?.code;
    if (code === undefined || !SESSION_EXPIRED_CODES.has(code)) throw this.errorFor(api, method, first, options);

    // Session expired or rejected: one fresh login, one retry (docs/synology-dsm.md#session-expiry-and-refused-logins).
    this.opts.logger?.info(
      { backend: this.opts.backend, api, method, dsmCode: code },
      'DSM session expired; logging in again once',
    );
    this.forget(session);
    const fresh = await this.ensureSession();
    const second = await this.send(api, method, params, fresh, options);
    if (second.success) return second.data;
    if (second.error?.code !== undefined && SESSION_EXPIRED_CODES.has(second.error.code)) this.forget(fresh);
    throw this.errorFor(api, method, second, options);
  }

  /** Logs in with an OTP code outside the normal flow (2FA enrollment). Returns the device id DSM issued. */
  async loginWith(extras: LoginExtras): Promise<string | undefined> {
    await this.discover();
    this.session = await this.login(extras);
    return this.lastDeviceId;
  }

  /**
   * Ends the session on the NAS (session + `_sid`, or sessions pile up: docs/synology-dsm.md#discovery-and-login).
   * Never throws.
   */
  async logout(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    if (!session) return;
    try {
      const info = await this.apiInfo('SYNO.API.Auth');
      await this.post(
        info.path,
        {
          api: 'SYNO.API.Auth',
          version: REQUIRED_APIS['SYNO.API.Auth'],
          method: 'logout',
          session: this.opts.sessionName,
        },
        session,
        false,
      );
    } catch (err) {
      this.opts.logger?.warn(
        { backend: this.opts.backend, err: describe(err) },
        'DSM logout failed; the session will time out on the NAS',
      );
    }
  }

  /** Discovers the APIs once (cached), checking each one AccountDesk calls exists in the version it calls. */
  async discover(): Promise<Map<string, ApiInfo>> {
    this.apis ??= this.fetchApiInfo().catch((err: unknown) => {
      this.apis = undefined; // a network failure must not be cached forever
      throw err;
    });
    return this.apis;
  }

  private async fetchApiInfo(): Promise<Map<string, ApiInfo>> {
    const response = await this.http.request({
      method: 'GET',
      path: '/webapi/query.cgi',
      query: { api: 'SYNO.API.Info', version: 1, method: 'query', query: Object.keys(REQUIRED_APIS).join(',') },
      idempotent: true,
    });
    const envelope = this.parse(response, 'SYNO.API.Info', 'query');
    if (!envelope.success || !isRecord(envelope.data)) {
      throw new BackendError(
        this.opts.backend,
        'protocol',
        `${this.opts.backend}: DSM did not answer the API discovery (SYNO.API.Info): is this URL a Synology NAS?`,
        {
          remoteCode: envelope.error?.code,
        },
      );
    }
    const apis = new Map<string, ApiInfo>();
    for (const [name, version] of Object.entries(REQUIRED_APIS)) {
      const raw = envelope.data[name];
      if (!isRecord(raw) || typeof raw.path !== 'string' || typeof raw.maxVersion !== 'number') {
        throw new BackendError(
          this.opts.backend,
          'unsupported',
          `${this.opts.backend}: this DSM does not offer ${name}: AccountDesk needs DSM 7 or later`,
        );
      }
      const minVersion = typeof raw.minVersion === 'number' ? raw.minVersion : 1;
      if (version > raw.maxVersion || version < minVersion) {
        throw new BackendError(
          this.opts.backend,
          'unsupported',
          `${this.opts.backend}: this DSM offers ${name} versions ${minVersion}-${raw.maxVersion}, AccountDesk ` +
            `needs version ${version}: update DSM to version 7 or later`,
        );
      }
      // The path comes from the NAS; keep it to a plain file name below /webapi so it cannot steer the request.
      if (!/^[A-Za-z0-9_./-]+$/.test(raw.path) || raw.path.includes('..')) {
        throw new BackendError(
          this.opts.backend,
          'protocol',
          `${this.opts.backend}: DSM reported an odd path for ${name}`,
        );
      }
      apis.set(name, { path: raw.path, minVersion, maxVersion: raw.maxVersion });
    }
    return apis;
  }

  private async apiInfo(api: DsmApiName): Promise<ApiInfo> {
    const info = (await this.discover()).get(api);
    if (!info)
      throw new BackendError(this.opts.backend, 'unsupported', `${this.opts.backend}: this DSM does not offer ${api}`);
    return info;
  }

  private async ensureSession(): Promise<Session> {
    if (this.session) return this.session;
    if (this.loginRefusal) throw this.loginRefusal;
    // One login at a time: concurrent calls share the same attempt (and its outcome).
    this.loginInFlight ??= this.login({}).then(
      (session) => {
        this.session = session;
        this.loginInFlight = undefined;
        return session;
      },
      (err: unknown) => {
        this.loginInFlight = undefined;
        throw err;
      },
    );
    return this.loginInFlight;
  }

  /** Drops a session that DSM rejected, unless a concurrent call already replaced it. */
  private forget(session: Session): void {
    if (this.session === session) this.session = undefined;
  }

  private async login(extras: LoginExtras): Promise<Session> {
    const info = await this.apiInfo('SYNO.API.Auth');
    const params: DsmParams = {
      api: 'SYNO.API.Auth',
      version: REQUIRED_APIS['SYNO.API.Auth'],
      method: 'login',
      account: this.opts.account,
      passwd: this.opts.password,
      session: this.opts.sessionName,
      format: 'sid',
      enable_syno_token: 'yes',
    };
    if (extras.otpCode !== undefined) {
      params.otp_code = extras.otpCode;
      if (extras.enableDeviceToken) params.enable_device_token = 'yes';
      params.device_name = this.opts.deviceName;
    } else if (this.opts.deviceId) {
      params.device_id = this.opts.deviceId;
      params.device_name = this.opts.deviceName;
    }
    this.opts.logger?.debug({ backend: this.opts.backend }, 'logging in to DSM');
    const response = await this.post(info.path, params, undefined, false);
    const envelope = this.parse(response, 'SYNO.API.Auth', 'login');
    if (!envelope.success) {
      const refusal = this.errorFor('SYNO.API.Auth', 'login', envelope, {}, params.device_id !== undefined);
      // Latch every refusal of the credentials themselves; busy/unavailable answers may be tried again later.
      if (refusal.code === 'auth_failed' || refusal.code === 'locked_out' || refusal.code === 'forbidden') {
        this.loginRefusal = refusal;
      }
      throw refusal;
    }
    const data = isRecord(envelope.data) ? envelope.data : {};
    if (typeof data.sid !== 'string' || data.sid === '') {
      throw new BackendError(
        this.opts.backend,
        'protocol',
        `${this.opts.backend}: DSM accepted the login but returned no session id`,
      );
    }
    const deviceId = data.device_id ?? data.did; // v7 names it device_id; older DSMs did
    this.lastDeviceId = typeof deviceId === 'string' && deviceId !== '' ? deviceId : undefined;
    return {
      sid: data.sid,
      synoToken: typeof data.synotoken === 'string' && data.synotoken !== '' ? data.synotoken : undefined,
    };
  }

  private async send(
    api: DsmApiName,
    method: string,
    params: DsmParams,
    session: Session,
    options: DsmCallOptions,
  ): Promise<DsmEnvelope> {
    const info = await this.apiInfo(api);
    this.opts.logger?.debug({ backend: this.opts.backend, api, method }, 'DSM call');
    const response = await this.post(
      info.path,
      { ...params, api, version: REQUIRED_APIS[api], method },
      session,
      options.read === true,
    );
    return this.parse(response, api, method);
  }

  /**
   * Every call is a form POST: passwords, the sid and the SynoToken stay out of URLs (and so out of proxy and
   * NAS access logs).
   */
  private async post(
    path: string,
    params: DsmParams,
    session: Session | undefined,
    idempotent: boolean,
  ): Promise<HttpResponse> {
    const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' };
    const withSession: DsmParams = { ...params };
    if (session) {
      withSession._sid = session.sid;
      if (session.synoToken) {
        withSession.SynoToken = session.synoToken;
        headers['x-syno-token'] = session.synoToken;
      }
    }
    return this.http.request({
      method: 'POST',
      path: `/webapi/${path}`,
      headers,
      body: encodeForm(withSession),
      idempotent,
    });
  }

  private parse(response: HttpResponse, api: string, method: string): DsmEnvelope {
    const backend = this.opts.backend;
    if (response.status >= 500 || response.status === 429) {
      throw new BackendError(
        backend,
        'unavailable',
        `${backend}: DSM answered HTTP ${response.status} to ${api} ${method}: try again later`,
        {
          status: response.status,
        },
      );
    }
    if (response.status !== 200) {
      throw new BackendError(
        backend,
        'protocol',
        `${backend}: DSM answered HTTP ${response.status} to ${api} ${method}: check the backend url ` +
          '(it should be the DSM address, e.g. https://nas.lan:5001)',
        {
          status: response.status,
        },
      );
    }
    let body: unknown;
    try {
      body = JSON.parse(response.text);
    } catch {
      throw new BackendError(
        backend,
        'protocol',
        `${backend}: DSM answered ${api} ${method} with something that is not JSON: check the backend url`,
      );
    }
    if (!isRecord(body) || typeof body.success !== 'boolean') {
      throw new BackendError(
        backend,
        'protocol',
        `${backend}: DSM's answer to ${api} ${method} has no "success" field`,
      );
    }
    return body as unknown as DsmEnvelope;
  }

  private errorFor(
    api: string,
    method: string,
    envelope: DsmEnvelope,
    options: DsmCallOptions,
    sentDeviceId = false,
  ): BackendError {
    const code = envelope.error?.code;
    const ctx: DsmErrorContext = {
      backend: this.opts.backend,
      api,
      method,
      account: this.opts.account,
      secretEnv: this.opts.secretEnv,
      deviceIdEnv: this.opts.deviceIdEnv,
      sentDeviceId,
      secondFactors: secondFactorsOf(envelope.error?.errors),
      ...(options.subject === undefined ? {} : { subject: options.subject }),
    };
    if (typeof code !== 'number') {
      return new BackendError(
        this.opts.backend,
        'protocol',
        `${this.opts.backend}: DSM refused ${api} ${method} without an error code`,
      );
    }
    return dsmError(ctx, code);
  }
}

/**
 * The second factors a 2FA login refusal asks for: DSM 7 answers 403 with error.errors = {token, types: [{type:
 * "otp"}]} (github.com/synology-community/go-synology, pkg/api/response.go). Empty when the answer names none.
 */
function secondFactorsOf(errors: unknown): string[] {
  if (!isRecord(errors) || !Array.isArray(errors.types)) return [];
  return errors.types.flatMap((t) => (isRecord(t) && typeof t.type === 'string' ? [t.type] : []));
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function describe(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
