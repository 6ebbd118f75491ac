/** A generated DSM password that cannot be shown: the admin is told to reset it, and the secret still leaks nowhere. */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { APPROVER, REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

describe('one-time password delivery failure', () => {
  let desk: Desk;
  beforeEach(async () => {
    desk = await startDesk();
  });
  afterEach(async () => {
    await desk.stop();
  });

  for (const fault of [{ error: 'internal_error' }, { status: 500, count: 3 }]) {
    it(
      `chat.postEphemeral failing (${JSON.stringify(fault)}): applied, the ` +
        `card and DM say to reset the password, which is nowhere`,
      async () => {
        const id = requestIdIn(await desk.command(REQUESTER, 'create nas hank hank@example.com'));
        await desk.card(id);
        desk.slack.failNext('chat.postEphemeral', fault);
        await desk.click(APPROVER, 'request_approve', id);
        const applied = await desk.waitForState(id, 'applied', 'failed');
        expect(applied.state).toBe('applied');
        await desk.waitForOutboxDrained();

        const secret = desk.dsm.passwords.get('hank');
        expect(secret).toBeTruthy();
        expect(applied.steps[0]?.result?.summary).toContain(
          'could NOT be shown to the requester: reset it on the backend',
        );
        expect(await desk.card(id)).toContain('could NOT be shown');
        expect(desk.dms(REQUESTER).join('\n')).toContain('could NOT be shown');
        expect(desk.slack.ephemeralsFor(REQUESTER).filter((e) => e.text.includes(secret!))).toHaveLength(0);

        expect(
          desk
            .everythingSentToSlack()
            .split('\n')
            .filter((line) => line.includes(secret!))
            .every((line) => line.includes('chat.postEphemeral')),
        ).toBe(true);
        expect(desk.logs.join('')).not.toContain(secret);
        expect(desk.logs.join('')).toContain('could not show the generated password');
        for (const file of readdirSync(desk.dataDir).filter((f) => f.startsWith('store.sqlite'))) {
          expect(readFileSync(join(desk.dataDir, file)).includes(Buffer.from(secret!))).toBe(false);
        }
      },
    );
  }
});
