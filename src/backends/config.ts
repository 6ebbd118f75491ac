/**
 * Config fields every backend kind shares. Each kind's folder adds its own fields and exports a zod schema built
 * from these, so a backend's options live beside its client and src/config only composes them.
 */
import { z } from 'zod';
import type { HttpOptions } from './http.js';

export const commonBackendFields = {
  /** Base URL of the server, with its path prefix if any (https://cloud.example.com, https://nas.lan:5001). */
  url: z.url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL, e.g. https://cloud.example.com' }),
  /** The admin account AccountDesk acts as. */
  user: z.string().min(1, 'name the admin account AccountDesk logs in as'),
  /** Name of the environment variable holding that account's (app) password. The value never goes in this file. */
  secretEnv: z
    .string()
    .regex(
      /^[A-Z_][A-Z0-9_]*$/,
      'must be the NAME of an environment variable (e.g. NEXTCLOUD_APP_PASSWORD), not the secret itself',
    ),
  /** PEM file of a CA to trust, for self-signed certificates. */
  caFile: z.string().min(1).optional(),
  /** Skips TLS verification. Explicit opt-in; start-up logs a warning. */
  insecureTls: z.boolean().default(false),
  timeouts: z
    .strictObject({
      connectMs: z.number().int().positive().max(60_000).optional(),
      headersMs: z.number().int().positive().max(300_000).optional(),
      bodyMs: z.number().int().positive().max(300_000).optional(),
    })
    .optional(),
};

export type CommonBackendConfig = z.infer<z.ZodObject<typeof commonBackendFields>>;

export function httpOptionsFor(name: string, config: CommonBackendConfig): HttpOptions {
  return {
    baseUrl: config.url,
    backend: name,
    connectTimeoutMs: config.timeouts?.connectMs,
    headersTimeoutMs: config.timeouts?.headersMs,
    bodyTimeoutMs: config.timeouts?.bodyMs,
    caFile: config.caFile,
    insecureTls: config.insecureTls,
  };
}
