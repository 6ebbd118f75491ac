/**
 * What the Nextcloud client adds on top of raw undici: NextcloudClient.getUser (envelope parsing, status mapping,
 * quota decoding) against a raw undici Pool GET of the same OCS URL, same fake Nextcloud, same run.
 *
 *   npx tsx bench/backend-overhead.ts [calls=3000] [concurrency=20]
 */
import { Pool } from 'undici';
import { createNextcloudClient } from '../src/backends/nextcloud/client.js';
import { nextcloudConfigSchema } from '../src/backends/nextcloud/config.js';
import { startFakeNextcloud } from '../test/fakes/nextcloud.js';
import { drive, row } from './stats.js';

const total = Number(process.argv[2] ?? 3000);
const concurrency = Number(process.argv[3] ?? 20);

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

  let last: { raw: Awaited<ReturnType<typeof drive>>; client: Awaited<ReturnType<typeof drive>> } | undefined;
  for (let round = 0; round < 2; round++) {
    await drive(300, concurrency, rawGet);
    const rawStats = await drive(total, concurrency, rawGet);
    await drive(300, concurrency, clientGet);
    const clientStats = await drive(total, concurrency, clientGet);
    last = { raw: rawStats, client: clientStats };
  }
  console.log(
    `Nextcloud getUser against the fake, ${total} calls at concurrency ${concurrency} (second of two rounds):`,
  );
  console.log(row('raw undici GET', last!.raw));
  console.log(row('NextcloudClient.getUser', last!.client));
  console.log(
    `ratio client / raw undici: p50 ` +
      `${(last!.client.p50 / last!.raw.p50).toFixed(2)}x  p99 ` +
      `${(last!.client.p99 / last!.raw.p99).toFixed(2)}x  throughput ` +
      `${(last!.client.perSecond / last!.raw.perSecond).toFixed(2)}x`,
  );
  await Promise.all([client.close(), raw.close(), fake.close()]);
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
