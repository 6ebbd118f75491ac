/**
 * What the Nextcloud client adds on top of raw undici: NextcloudClient.getUser (envelope parsing, status mapping,
 * quota decoding) against a raw undici Pool GET of the same OCS URL, same fake Nextcloud, same run.
 *
 * Raw and client alternate over the rounds (`--rounds`, 3 by default; `--quick` makes 500 calls a round).
 *
 *   npx tsx bench/backend-overhead.ts [calls=3000] [concurrency=20] [--rounds 3] [--quick]
 *
 * Opt-in, against a REAL Nextcloud: NextcloudClient.createUser (what an approval runs: click -> user exists) against
 * one raw undici POST of the same create, alternating, one write at a time (SQLite Nextclouds lock under parallel
 * writes, docs/nextcloud-ocs.md). Every user made is deleted again (not timed). Not part of `npm run bench`.
 *
 *   BENCH_NEXTCLOUD_URL=http://127.0.0.1:18080 BENCH_NEXTCLOUD_USER=admin \
 *   BENCH_NEXTCLOUD_PASSWORD_FILE=/path/to/app-password [BENCH_ROUNDS=15] npx tsx bench/backend-overhead.ts
 */
import { readFileSync } from 'node:fs';
import { Pool } from 'undici';
import { createNextcloudClient } from '../src/backends/nextcloud/client.js';
import { nextcloudConfigSchema } from '../src/backends/nextcloud/config.js';
import { startFakeNextcloud } from '../test/fakes/nextcloud.js';
import { benchOptions, drive, formatSpread, percentile, row, saveFigures, spread, type RunStats } from './stats.js';

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

/** Creates against a real Nextcloud: the client's createUser vs one raw POST, alternating, medians and spread. */
async function realCreates(url: string): Promise<void> {
  const user = process.env['BENCH_NEXTCLOUD_USER'] ?? 'admin';
  const passwordFile = process.env['BENCH_NEXTCLOUD_PASSWORD_FILE'];
  const password = passwordFile
    ? readFileSync(passwordFile, 'utf8').trim()
    : (process.env['BENCH_NEXTCLOUD_PASSWORD'] ?? '');
  if (!password)
    throw new Error('set BENCH_NEXTCLOUD_PASSWORD_FILE (or BENCH_NEXTCLOUD_PASSWORD) to an admin app password');
  const rounds = Number(process.env['BENCH_ROUNDS'] ?? 15);
  const config = nextcloudConfigSchema.parse({ kind: 'nextcloud', url, user, secretEnv: 'X', apiVersion: 'v2' });
  const client = createNextcloudClient('real', config, password);
  const raw = new Pool(new URL(url).origin);
  const headers = {
    authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
    'ocs-apirequest': 'true',
    accept: 'application/json',
    'content-type': 'application/json',
  };
  const ocs = async (method: 'POST' | 'DELETE', path: string, body?: object) => {
    const res = await raw.request({
      method,
      path: `/ocs/v2.php${path}?format=json`,
      headers,
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const answer = (await res.body.json()) as { ocs: { meta: { statuscode: number; message: string } } };
    return answer.ocs.meta;
  };
  const prefix = `bench${Date.now().toString(36)}`;
  const timed = async (work: () => Promise<void>) => {
    const t0 = performance.now();
    await work();
    return performance.now() - t0;
  };
  const clientMs: number[] = [];
  const rawMs: number[] = [];
  for (let round = -1; round < rounds; round++) {
    // Round -1 warms both paths (connections, opcache) and is not counted; the order alternates every round.
    const pair = [
      async () => {
        const username = `${prefix}c${round + 1}`;
        const ms = await timed(async () => {
          await client.createUser({ username, email: `${username}@example.invalid` });
        });
        if (round >= 0) clientMs.push(ms);
        await ocs('DELETE', `/cloud/users/${username}`);
      },
      async () => {
        const username = `${prefix}r${round + 1}`;
        const ms = await timed(async () => {
          const meta = await ocs('POST', '/cloud/users', { userid: username, email: `${username}@example.invalid` });
          if (meta.statuscode !== 200) throw new Error(`raw create answered ${meta.statuscode} ${meta.message}`);
        });
        if (round >= 0) rawMs.push(ms);
        await ocs('DELETE', `/cloud/users/${username}`);
      },
    ];
    if (round % 2 !== 0) pair.reverse();
    for (const step of pair) await step();
  }
  const describe = (ms: number[]) => {
    const sorted = [...ms].sort((a, b) => a - b);
    return { p50: percentile(sorted, 50), min: sorted[0]!, max: sorted.at(-1)! };
  };
  const c = describe(clientMs);
  const r = describe(rawMs);
  console.log(`Nextcloud at ${url}: create one user, ${rounds} alternating rounds, one write at a time:`);
  const line = (name: string, d: { p50: number; min: number; max: number }) =>
    `${name.padEnd(34)} median ${d.p50.toFixed(0)} ms  (${d.min.toFixed(0)}-${d.max.toFixed(0)})`;
  console.log(line('raw undici POST', r));
  console.log(line('NextcloudClient.createUser', c));
  // Per round the two creates ran back to back, so their ratio is less exposed to a machine whose load drifts.
  const paired = describe(clientMs.map((ms, i) => ms / rawMs[i]!));
  console.log(`ratio client / raw POST (medians): ${(c.p50 / r.p50).toFixed(3)}x`);
  console.log(
    `ratio client / raw POST, median of per-round ratios: ${paired.p50.toFixed(3)}x ` +
      `(${paired.min.toFixed(2)}-${paired.max.toFixed(2)})`,
  );
  await Promise.all([client.close(), raw.close()]);
}

const realUrl = process.env['BENCH_NEXTCLOUD_URL'];
(realUrl ? realCreates(realUrl) : main()).then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
