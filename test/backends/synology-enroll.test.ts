/**
 * The 2FA enrollment CLI (`npm run synology:enroll -- <config-file> <backend-name> <otp>`, which runs
 * `tsx src/backends/synology/enroll.ts`) as an operator runs it, against the fake DSM.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startFakeDsm } from '../fakes/synology.js';

const BOT_PASSWORD = 'bot-password-1';
const TSX = join(process.cwd(), 'node_modules', '.bin', 'tsx');
const SCRIPT = join(process.cwd(), 'src', 'backends', 'synology', 'enroll.ts');

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Runs the CLI asynchronously: the fake DSM answers from this same process. */
function runEnroll(
  args: string[],
  env: Record<string, string>,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(TSX, [SCRIPT, ...args], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function configFile(yaml: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'accountdesk-enroll-'));
  cleanups.push(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'accountdesk.yaml');
  await writeFile(file, yaml);
  return file;
}

/** Only the backend entry matters to enrollment: the Slack section is deliberately left unfinished here. */
function yamlFor(url: string, extra = ''): string {
  return [
    'slack: {}',
    'backends:',
    '  cloud:',
    '    kind: nextcloud',
    '    url: https://cloud.example.com',
    '    user: admin',
    '    secretEnv: NC_PASSWORD',
    '  nas:',
    '    kind: synology',
    `    url: ${url}`,
    '    user: accountdesk',
    '    secretEnv: DSM_NAS_PASSWORD',
    '    allowPlainHttp: true',
    extra,
  ].join('\n');
}

describe('npm run synology:enroll', () => {
  it('enrolls this device with the OTP and prints the env line holding the device id DSM issued', async () => {
    const fake = await startFakeDsm({ otpRequired: true, otpCode: '654321' });
    cleanups.push(() => fake.close());
    const file = await configFile(yamlFor(fake.url));

    const run = await runEnroll([file, 'nas', '654321'], { DSM_NAS_PASSWORD: BOT_PASSWORD });

    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const line = /^DSM_NAS_DEVICE_ID=(\S+)$/m.exec(run.stdout);
    expect(line).not.toBeNull();
    expect(fake.trustedDevices.has(line![1]!)).toBe(true);
    expect(run.stdout).toContain(`deviceIdEnv: DSM_NAS_DEVICE_ID  to backend "nas" in ${file}`);
    expect(run.stdout).not.toContain(BOT_PASSWORD);
    expect(fake.activeSessions()).toBe(0);
  });

  it('uses the configured deviceIdEnv name', async () => {
    const fake = await startFakeDsm({ otpRequired: true, otpCode: '123456' });
    cleanups.push(() => fake.close());
    const file = await configFile(yamlFor(fake.url, '    deviceIdEnv: NAS_TRUSTED_DEVICE'));
    const run = await runEnroll([file, 'nas', '123456'], { DSM_NAS_PASSWORD: BOT_PASSWORD });
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^NAS_TRUSTED_DEVICE=\S+$/m);
    expect(run.stdout).not.toContain('Then add');
  });

  it('says clearly what is wrong: unknown backend, not a synology backend, unset password', async () => {
    const fake = await startFakeDsm({ otpRequired: true, otpCode: '654321' });
    cleanups.push(() => fake.close());
    const file = await configFile(yamlFor(fake.url));

    const [unknown, wrongKind, noSecret, usage] = await Promise.all([
      runEnroll([file, 'nass', '654321'], { DSM_NAS_PASSWORD: BOT_PASSWORD }),
      runEnroll([file, 'cloud', '654321'], { DSM_NAS_PASSWORD: BOT_PASSWORD }),
      runEnroll([file, 'nas', '654321'], {}),
      runEnroll([file, 'nas'], {}),
    ]);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('has no backend named "nass" under backends (it has: cloud, nas)');
    expect(wrongKind.code).toBe(1);
    expect(wrongKind.stderr).toContain('backend "cloud"');
    expect(wrongKind.stderr).toContain('is of kind nextcloud: 2FA enrollment is only for synology backends');
    expect(noSecret.code).toBe(1);
    expect(noSecret.stderr).toContain('DSM_NAS_PASSWORD is not set');
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: npm run synology:enroll');

    expect(fake.calls('SYNO.API.Auth', 'login')).toHaveLength(0);
  });
});
