/**
 * `npm start` as an operator runs it: src/main.ts as its own process. Without Slack credentials it stops at once
 * naming each missing variable; with them it logs that it is ready, and SIGTERM stops it cleanly.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { startFakeNextcloud, type FakeNextcloud } from '../fakes/nextcloud.js';
import { freePort } from '../support/net.js';
import { startFakeSlack, type FakeSlack } from '../support/slack-fake.js';

const MAIN = fileURLToPath(new URL('../../src/main.ts', import.meta.url));
/** tsx's loader by path: `--import tsx` would be resolved from the process's cwd, a temp dir here. */
const TSX = new URL('../../node_modules/tsx/dist/loader.mjs', import.meta.url).href;

interface Exit {
  code: number | null;
  output: string;
}

/** Runs main.ts in `cwd` with exactly `env` (plus PATH); `whileRunning` may act once the process has said `until`. */
function runMain(
  cwd: string,
  env: Record<string, string>,
  until?: string,
  whileRunning?: (pid: number) => void,
): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', TSX, MAIN], {
      cwd,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let acted = false;
    const onData = (chunk: Buffer) => {
      output += String(chunk);
      if (until && !acted && output.includes(until)) {
        acted = true;
        whileRunning?.(child.pid!);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`main.ts did not exit in time:\n${output}`));
    }, 30_000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

describe('npm start (src/main.ts)', () => {
  let dir: string;
  let slack: FakeSlack | undefined;
  let nextcloud: FakeNextcloud | undefined;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'accountdesk-main-'));
  });
  afterEach(async () => {
    await Promise.all([slack?.close(), nextcloud?.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('without Slack credentials, exits 2 at once naming each missing variable and where to get it', async () => {
    const exit = await runMain(dir, {});
    expect(exit.code).toBe(2);
    expect(exit.output).toContain('SLACK_BOT_TOKEN is not set');
    expect(exit.output).toContain('SLACK_APP_TOKEN is not set');
    expect(exit.output).toContain('manifest/');
    expect(exit.output).toContain('.env.example');
  });

  it(
    'with credentials (read from .env), starts with the embedded store, says ' +
      'it is ready, and stops cleanly on SIGTERM',
    async () => {
      slack = await startFakeSlack();
      nextcloud = await startFakeNextcloud({ adminUser: 'admin', adminPassword: 'main-test-app-password' });
      writeFileSync(
        join(dir, 'accountdesk.yaml'),
        stringify({
          slack: { approvalsChannel: 'C0APPROVALS', auditChannel: 'C0AUDITLOG' },
          approvers: { users: ['U0APPROVER1'] },
          backends: {
            cloud: { kind: 'nextcloud', url: nextcloud.url, user: 'admin', secretEnv: 'NEXTCLOUD_APP_PASSWORD' },
          },
        }),
      );
      const port = await freePort();
      writeFileSync(
        join(dir, '.env'),
        [
          `SLACK_BOT_TOKEN=${slack.token}`,
          'SLACK_MODE=http',
          'SLACK_SIGNING_SECRET=main-test-signing-secret-0123456789',
          `SLACK_API_URL=${slack.apiUrl}`,
          `PORT=${port}`,
          'CONFIG_FILE=accountdesk.yaml',
          'NEXTCLOUD_APP_PASSWORD=main-test-app-password',
        ].join('\n'),
      );
      let health: number | undefined;
      const exit = await runMain(dir, {}, 'AccountDesk is ready', (pid) => {
        void fetch(`http://127.0.0.1:${port}/healthz`).then((res) => {
          health = res.status;
          process.kill(pid, 'SIGTERM');
        });
      });
      expect(health).toBe(200);
      expect(exit.code).toBe(0);
      expect(exit.output).toMatch(/"store opened".*accountdesk\.sqlite|accountdesk\.sqlite.*"store opened"/);
      expect(exit.output).toContain('"signal":"SIGTERM"');
      expect(exit.output).not.toContain('main-test-app-password');
      expect(exit.output).not.toContain('main-test-signing-secret');
    },
  );
});
