/**
 * 2FA enrollment CLI: `npx tsx src/backends/synology/enroll.ts <config-file> <backend-name> <otp>`
 * (npm run synology:enroll -- <config-file> <backend-name> <otp>).
 *
 * Reads the one backend entry from the AccountDesk config file and validates it with the Synology schema alone:
 * enrolling needs only that entry, and an operator setting up the NAS first must not be stopped by an unfinished
 * Slack section. Start-up validates the whole file anyway. Then reads the admin password from the env var the entry
 * names, logs in once with the OTP code asking DSM to trust this device, and prints the env line to add. The
 * device id is a credential: it is printed once for the operator to store as a secret, never logged.
 */
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { synologyConfigSchema, type SynologyConfig } from './config.js';
import { deviceIdEnvName, enrollDevice } from './enrollment.js';
import { isRecord } from './session.js';

const USAGE = 'usage: npm run synology:enroll -- <config-file> <backend-name> <6-digit 2FA code>';

async function main(argv: string[]): Promise<number> {
  const [file, backendName, otp] = argv;
  if (!file || !backendName || !otp) {
    console.error(USAGE);
    return 2;
  }
  const config = readBackend(file, backendName);
  const secret = process.env[config.secretEnv];
  if (!secret) {
    console.error(
      `${config.secretEnv} is not set: it must hold the DSM password of "${config.user}" ` +
        '(put it in the environment, e.g. from .env).',
    );
    return 1;
  }
  const deviceId = await enrollDevice(config, secret, otp, { backendName });
  const envName = deviceIdEnvName(backendName, config);
  console.log(
    "DSM trusts this device now. Add this line to AccountDesk's environment and store it as a secret " +
      '(it lets the bot skip 2FA):\n',
  );
  console.log(`${envName}=${deviceId}\n`);
  if (!config.deviceIdEnv) {
    console.log(`Then add  deviceIdEnv: ${envName}  to backend "${backendName}" in ${file}.`);
  }
  return 0;
}

function readBackend(file: string, backendName: string): SynologyConfig {
  let raw: unknown;
  try {
    raw = parseYaml(readFileSync(file, 'utf8'));
  } catch (err) {
    fail(`cannot read ${file}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const backends = isRecord(raw) && isRecord(raw.backends) ? raw.backends : undefined;
  if (!backends) fail(`${file} has no "backends" section`);
  const entry = backends[backendName];
  if (entry === undefined)
    fail(
      `${file} has no backend named "${backendName}" under backends ` +
        `(it has: ${Object.keys(backends).join(', ') || 'none'})`,
    );
  if (isRecord(entry) && entry.kind !== 'synology') {
    fail(
      `backend "${backendName}" in ${file} is of kind ${String(entry.kind)}: ` +
        '2FA enrollment is only for synology backends',
    );
  }
  const parsed = synologyConfigSchema.safeParse(entry);
  if (!parsed.success)
    fail(`backend "${backendName}" in ${file} is not a valid Synology backend:\n${formatIssues(parsed.error)}`);
  return parsed.data;
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
