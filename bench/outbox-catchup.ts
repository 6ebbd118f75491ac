/**
 * How long an outbox consumer added to a running deployment takes to catch up on the audit log it finds:
 * `npx tsx bench/outbox-catchup.ts [entries]` (default 20000) on a temp SQLite store. Run by hand; not part of
 * `npm run bench` (bench/run.ts), whose figures file it does not write.
 *
 * Baseline: a consumer that acts on no entry but is handed every one (a lease renewal per entry, as the built-in
 * consumers are). Measured: the reminders consumer (src/slack/reminders.ts), whose `wants` passes over entries it
 * does not act on. Prints entries, wall time and ms per entry for both, and the ratio.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Liveness } from '../src/liveness.js';
import { createLogger } from '../src/log.js';
import type { RequestDesk } from '../src/requests/index.js';
import { AuditPublisher, type CardRecord, type OutboxConsumer } from '../src/slack/publisher.js';
import { ReminderDelivery } from '../src/slack/reminders.js';
import type { SlackSurface } from '../src/slack/surface.js';
import { openStore } from '../src/store/index.js';

const entries = Number(process.argv[2] ?? 20_000);
const logger = createLogger({ level: 'silent', secrets: [] });
const dir = await mkdtemp(join(tmpdir(), 'accountdesk-bench-outbox-'));
const store = await openStore(`sqlite://${join(dir, 'store.sqlite')}`, { logger });
const liveness = await Liveness.start(store.coordination, 30_000, logger);
try {
  for (let i = 0; i < entries; i++) {
    await store.audit.append({ event: 'requested', subject: `AD-${i}`, actor: 'U0BENCH', data: {} });
  }
  // The built-in consumers are up to date, as in a deployment that only gains a consumer.
  for (const name of ['audit-channel', 'cards', 'requester-dm']) await store.cursors.advance(name, 0, entries);
  const cards = store.records<CardRecord>('cards', () => []);
  // Neither consumer reaches the desk or Slack for these entries: a call would throw and show in the cursor.
  const desk = { events: { subscribe: () => undefined } } as unknown as RequestDesk;
  const surface = {} as SlackSurface;

  const timeCatchUp = async (consumer: OutboxConsumer): Promise<number> => {
    const publisher = new AuditPublisher({
      audit: store.audit,
      cursors: store.cursors,
      leases: liveness,
      desk,
      cards,
      backendKinds: new Map(),
      surface,
      logger,
      consumers: [consumer],
    });
    const started = performance.now();
    publisher.kick();
    await publisher.idle();
    const ms = performance.now() - started;
    const at = await store.cursors.get(consumer.name);
    if (at !== entries) throw new Error(`${consumer.name} stopped at #${at} of ${entries}`);
    return ms;
  };

  const baseline = await timeCatchUp({ name: 'every-entry', handle: () => Promise.resolve() });
  const reminders = await timeCatchUp(new ReminderDelivery({ desk, cards, surface, logger }));
  const row = (name: string, ms: number) =>
    `${name.padEnd(32)} ${String(Math.round(ms)).padStart(7)} ms  ${(ms / entries).toFixed(3)} ms/entry`;
  console.log(`entries: ${entries} (SQLite)`);
  console.log(row('baseline (handed every entry)', baseline));
  console.log(row('reminders (wants)', reminders));
  console.log(`ratio: ${(baseline / reminders).toFixed(1)}x faster`);
} finally {
  await liveness.stop();
  await store.close();
  await rm(dir, { recursive: true, force: true });
}
