/**
 * Config of one Synology DSM backend: the common fields (url, user, secretEnv, TLS, timeouts) plus what only DSM
 * needs. src/config composes this schema; the 2FA enrollment CLI parses a single entry with it.
 */
import { z } from 'zod';
import { commonBackendFields } from '../config.js';

const envName = z
  .string()
  .regex(/^[A-Z_][A-Z0-9_]*$/, 'must be the NAME of an environment variable (e.g. DSM_NAS_DEVICE_ID), not its value');

export const synologyConfigSchema = z
  .strictObject({
    kind: z.literal('synology'),
    ...commonBackendFields,
    /** Volume whose user quota AccountDesk reads and sets (docs/synology-dsm.md#quota). */
    volume: z
      .string()
      .regex(/^\/volume[A-Za-z0-9_-]+$/, 'must be a DSM volume path such as /volume1')
      .default('/volume1'),
    /**
     * Our own login session name. Never "webui": logging our session out must not end an admin's browser
     * session (docs/synology-dsm.md#discovery-and-login).
     */
    sessionName: z
      .string()
      .regex(/^[A-Za-z0-9_-]{1,64}$/, 'letters, digits, "-" and "_" only')
      .refine((s) => s.toLowerCase() !== 'webui', 'must not be "webui": that is the DSM web interface\'s own session')
      .default('AccountDesk'),
    /** Name DSM shows for the trusted 2FA device (docs/synology-dsm.md#two-step-verification). */
    deviceName: z.string().min(1).max(64).default('AccountDesk'),
    /** NAME of the env var holding the 2FA device id from `npm run synology:enroll`. Only for 2FA accounts. */
    deviceIdEnv: envName.optional(),
    /**
     * true: DSM mails the first password to the new user (create with notify_by_email + send_password), so an
     * email address is required. false: AccountDesk shows the generated password once to the requester.
     */
    mailPassword: z.boolean().default(false),
    /**
     * Plain http:// is refused unless this is true. Over http DSM expects passwords to be RSA/AES-encrypted
     * (docs/synology-dsm.md#plain-http); AccountDesk does not implement that scheme (it cannot be checked against
     * a real DSM here), so over http the admin password and every new user's password would cross the network
     * in clear text. Opt in only for a NAS on a trusted segment (or tests); prefer https with caFile.
     */
    allowPlainHttp: z.boolean().default(false),
    /** Group joins are asynchronous (docs/synology-dsm.md#groups). */
    groupJoin: z
      .strictObject({
        /** How many join_status polls before giving up: bounded so a stuck DSM task cannot hang an apply. */
        maxPolls: z.number().int().min(1).max(120).default(20),
        pollIntervalMs: z.number().int().min(0).max(10_000).default(500),
      })
      .default({ maxPolls: 20, pollIntervalMs: 500 }),
  })
  // Runs even when other fields failed (zod 4 runs checks on the partial value): an unparsable url is left to
  // the url field's own message.
  .refine(
    (c) => c.allowPlainHttp === true || !URL.canParse(String(c.url)) || new URL(String(c.url)).protocol === 'https:',
    {
      path: ['url'],
      message:
        'must be https:// (DSM sends passwords in clear text over http). Use the NAS https port (usually 5001) with ' +
        'caFile for a self-signed certificate, or set allowPlainHttp: true to accept clear-text passwords on a ' +
        'trusted LAN',
    },
  );

/** The parsed config (defaults applied). */
export type SynologyConfig = z.output<typeof synologyConfigSchema>;
/** What an operator may write (defaults optional). */
export type SynologyConfigInput = z.input<typeof synologyConfigSchema>;
