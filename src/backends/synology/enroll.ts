/**
 * 2FA enrollment CLI: `npx tsx src/backends/synology/enroll.ts <config-file> <backend-name> <otp>`
 * (npm run synology:enroll -- <config-file> <backend-name> <otp>).
 *
 * Reads the backend entry from the AccountDesk config file (validated with the project's config-file schema when
 * it is available, else with the Synology schema alone), reads the admin password from the env var the entry
 * names, logs in once with the OTP code asking DSM to trust this device, and prints the env line to add. The
 * device id is a credential: it is printed once for the operator to store as a secret, never logged.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { synologyConfigSchema, type SynologyConfig } from './config.js';
import { deviceIdEnvName, enrollDevice } from './enrollment.js';

const USAGE = 'usage: npm run synology:enroll -- <config-file> <backend-name> <6-digit 2FA code>';

async function main(argv: string[]): Promise<number> {
  const [file, backendName, otp] = argv;
  if (!file || !backendName || !otp) {
    console.error(USAGE);
    return 2;
  }
  const config = await readBackend(file, backendName);
  const secret = process.env[config.secretEnv];
  if (!secret) {
    console.error(`${config.secretEnv} is not set: it must hold the DSM password of "${config.user}" (put it in the environment, e.g. from .env).`);
    return 1;
  }
  const deviceId = await enrollDevice(config, secret, otp, { backendName });
  const envName = deviceIdEnvName(backendName, config);
  console.log(`DSM trusts this device now. Add this line to AccountDesk's environment and store it as a secret (it lets the bot skip 2FA):\n`);
  console.log(`${envName}=${deviceId}\n`);
  if (!config.deviceIdEnv) {
    console.log(`Then add  deviceIdEnv: ${envName}  to backend "${backendName}" in ${file}.`);
  }
  return 0;
}

async function readBackend(file: string, backendName: string): Promise<SynologyConfig> {
  const raw: unknown = parseYaml(readFileSync(file, 'utf8'));
  const projectSchema = await loadProjectSchema();
  let entry: unknown;
  if (projectSchema) {
    const parsed = projectSchema.safeParse(raw);
    if (!parsed.success) fail(`${file} is not a valid AccountDesk config:\n${formatIssues(parsed.error)}`);
    entry = (parsed.data as { backends: Record<string, unknown> }).backends[backendName];
  } else {
    entry = (raw as { backends?: Record<string, unknown> } | null)?.backends?.[backendName];
  }
  if (entry === undefined) fail(`${file} has no backend named "${backendName}" under backends`);
  const parsed = synologyConfigSchema.safeParse(entry);
  if (!parsed.success) fail(`backend "${backendName}" in ${file} is not a valid Synology backend:\n${formatIssues(parsed.error)}`);
  return parsed.data;
}

/** The project's whole-file schema (src/config/schema.ts): validates exactly as start-up does, minus Slack env. */
async function loadProjectSchema(): Promise<z.ZodType | undefined> {
  try {
    const mod = (await import('../../config/schema.js')) as { configFileSchema?: z.ZodType };
    return mod.configFileSchema;
  } catch {
    return undefined;
  }
}

function formatIssues(error: z.ZodError): string {
  return error.issues.map((i) => `  - ${i.path.join('.') || '(top)'}: ${i.message}`).join('\n');
}

function fail(message: string): never {
  throw new Error(message);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    console.error(err instanceof Error ? err.message : String(err));
    process.exitCode = 1;
  },
);
