/**
 * What one `/account create` costs the disk: every SQLite write that waits for an fsync, counted through the
 * store's afterDurableWrite hook from the slash command until every card, audit line and DM is out. The counts
 * are measured figures (docs/architecture.md#the-replay-guard-and-durable-commits): before issue 13 the request
 * path took 3 durable commits (replay guard, order counter, record) and the whole life 10 plus one lease renewal
 * per publisher pass; a test failing here means a change added a commit to the hot path.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { REQUESTER, requestIdIn, startDesk, type Desk } from './harness.js';

/**
 * Measured: the request with its "requested" entry, its "previewed" entry, the card record, and up to ten cursor
 * moves (five outbox consumers: audit lines, cards, DMs, reminders since src/slack/reminders.ts, batch threads
 * since docs/architecture.md#batches; they run side by side, so a lone create takes two passes: its entry, its
 * preview's).
 */
const DURABLE_WRITES_PER_CREATE = 13;

describe('durable commits per /account create', () => {
  let desk: Desk | undefined;
  afterEach(async () => {
    await desk?.stop();
  });

  it('stores the request, its indexes and its audit entry in one commit, and syncs no guard or lease', async () => {
    const writes: string[][] = [];
    desk = await startDesk({ appOptions: { afterDurableStoreWrite: (keys) => writes.push(keys) } });
    await desk.waitForOutboxDrained();
    writes.length = 0;

    const receipt = await desk.command(REQUESTER, 'create cloud alice alice@example.com 10GB onboarding Alice');
    const id = requestIdIn(receipt);
    const untilReceipt = writes.slice();
    await desk.waitForOutboxDrained();

    const requestKey = `accountdesk:rec:requests:${id}`;
    // The request path: exactly one durable commit holds the new request, and its audit entry rides along.
    const requestCommits = untilReceipt.filter((keys) => keys.includes(requestKey));
    expect(requestCommits).toEqual([[requestKey, 'accountdesk:audit:1', 'accountdesk:audit:head']]);
    // The replay guard's once-key and the publisher's lease renewals no longer wait for the disk; no order counter.
    const flat = writes.flat();
    expect(flat.filter((key) => /:(once|lease|order):/.test(key))).toEqual([]);
    expect(writes.length).toBeLessThanOrEqual(DURABLE_WRITES_PER_CREATE);
    expect(await desk.request(id)).toMatchObject({ state: 'pending', username: 'alice' });
  });
});
