/**
 * What the Nextcloud client adds on top of raw undici: NextcloudClient.getUser (envelope parsing, status mapping,
 * quota decoding) against a raw undici Pool GET of the same OCS URL, same fake Nextcloud, same run.
 *
 * Raw and client alternate over the rounds (`--rounds`, 3 by default; `--quick` makes 500 calls a round).
 *
 *   npx tsx bench/backend-overhead.ts [calls=3000] [concurrency=20] [--rounds 3] [--quick]
 */
import { Pool } from 'undici';
import { createNextcloudClient } from '../src/backends/nextcloud/client.js';
import { nextcloudConfigSchema } from '../src/backends/nextcloud/config.js';
import { startFakeNextcloud } from '../test/fakes/nextcloud.js';
import { benchOptions, drive, formatSpread, row, saveFigures, spread, type RunStats } from './stats.js';

const options = benchOptions();
const total = Number(options.positional[0] ?? (options.quick ? 500 : 3000));
const concurrency = Number(options.positional[1] ?? 20);

async function main(): Promise<void> {
  const fake = await startFakeNextcloud({ adminUser: 'admin', adminPassword: 'bench-app-password' });
  fake.seedUser({ id: 'alice', email: 'alice@example.com' });
  const config = nextcloudConfigSchema.parse({
    kind: 'nextcloud',
    url: fake.url,
    user: 'admin',
    secretEnv: 'X',
    apiVersion: 'v2',
  });
  const client = createNextcloudClient('cloud', config, 'bench-app-password');
  const origin = new URL(fake.url).origin;
  const raw = new Pool(origin);
  const auth = `Basic ${Buffer.from('admin:bench-app-password').toString('base64')}`;
  const rawGet = async () => {
    const res = await raw.request({
      method: 'GET',
      path: '/ocs/v2.php/cloud/users/alice?format=json',
      headers: { authorization: auth, 'ocs-apirequest': 'true', accept: 'application/json' },
    });
    const body = (await res.body.json()) as { ocs: { data: { id: string } } };
    if (body.ocs.data.id !== 'alice') throw new Error('unexpected answer');
  };
  const clientGet = async () => {
    const state = await client.getUser('alice');
    if (!state.exists) throw new Error('unexpected answer');
  };

  const rounds: { raw: RunStats; client: RunStats }[] = [];
  for (let round = 0; round < options.rounds; round++) {
    // Warm both paths up, then measure them one after the other, the order flipped every round.
    await drive(300, concurrency, rawGet);
    await drive(300, concurrency, clientGet);
    const first = round % 2 === 0 ? rawGet : clientGet;
    const second = round % 2 === 0 ? clientGet : rawGet;
    const firstStats = await drive(total, concurrency, first);
    const secondStats = await drive(total, concurrency, second);
    const measured =
      round % 2 === 0 ? { raw: firstStats, client: secondStats } : { raw: secondStats, client: firstStats };
    rounds.push(measured);
    console.log(`round ${round + 1}: ${row('raw undici GET', measured.raw)}`);
    console.log(`round ${round + 1}: ${row('NextcloudClient.getUser', measured.client)}`);
  }
  const over = (pick: (r: { raw: RunStats; client: RunStats }) => number) => formatSpread(spread(rounds.map(pick)), 2);
  console.log(
    `Nextcloud getUser against the fake, ${total} calls at concurrency ${concurrency}, median (min-max) over ` +
      `${rounds.length} round(s):`,
  );
  console.log(`raw undici GET           p50 ${over((r) => r.raw.p50)} ms  p99 ${over((r) => r.raw.p99)} ms`);
  console.log(`NextcloudClient.getUser  p50 ${over((r) => r.client.p50)} ms  p99 ${over((r) => r.client.p99)} ms`);
  console.log(
    `ratio client / raw undici, same round: p50 ${over((r) => r.client.p50 / r.raw.p50)}x  ` +
      `p99 ${over((r) => r.client.p99 / r.raw.p99)}x  throughput ${over((r) => r.client.perSecond / r.raw.perSecond)}x`,
  );
  saveFigures('backend-overhead', { calls: total, concurrency, rounds });
  await Promise.all([client.close(), raw.close(), fake.close()]);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
