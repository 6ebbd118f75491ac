/**
 * How much AccountDesk adds to acknowledging a slash command, against a bare Bolt app that only acks, both in
 * HTTP mode on loopback, driven by the same signed-request client in the same run (no absolute claims: the
 * ratio is the result). AccountDesk's path includes the replay guard (one store write per request) and parsing.
 *
 *   npx tsx bench/slack-ack.ts [requests=2000] [concurrency=50]
 */
import { App, HTTPReceiver } from '@slack/bolt';
import { startDesk, SIGNING_SECRET, REQUESTER } from '../test/e2e/harness.js';
import { createSignedSlackClient } from '../test/support/slack-client.js';
import { drive, row } from './stats.js';
import { freePort } from '../test/support/net.js';

const total = Number(process.argv[2] ?? 2000);
const concurrency = Number(process.argv[3] ?? 50);
const warmup = 200;

async function main(): Promise<void> {
  // Baseline: a bare Bolt app with the same receiver and signing secret that only acks.
  const barePort = await freePort();
  const bare = new App({
    receiver: new HTTPReceiver({ signingSecret: SIGNING_SECRET }),
    token: 'xoxb-bench',
    // With botId and botUserId given, Bolt makes no auth.test call (reference/slack.md "Web API").
    botId: 'B0BENCH',
    botUserId: 'U0BENCHBOT',
  });
  bare.command('/account', async ({ ack }) => ack());
  await bare.start(barePort);
  const bareClient = createSignedSlackClient({ url: `http://127.0.0.1:${barePort}/slack/events`, signingSecret: SIGNING_SECRET });

  const desk = await startDesk();
  const deskClient = desk.client;

  // `status` of an unknown id: parse, replay guard, ack; the answer goes to response_url after the ack.
  const command = (client: typeof bareClient, i: number) => async () => {
    const res = await client.slashCommand({ command: '/account', text: `status AD-BENCH${i}`, userId: REQUESTER, triggerId: `${Date.now()}.${i}.${Math.random()}`, responseUrl: 'http://127.0.0.1:9/unused' });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body}`);
  };

  const rounds: { bare: Awaited<ReturnType<typeof drive>>; desk: Awaited<ReturnType<typeof drive>> }[] = [];
  for (let round = 0; round < 2; round++) {
    await drive(warmup, concurrency, (i) => command(bareClient, -i - 1)());
    const bareStats = await drive(total, concurrency, (i) => command(bareClient, i)());
    await drive(warmup, concurrency, (i) => command(deskClient, -i - 1 - round * 1e6)());
    const deskStats = await drive(total, concurrency, (i) => command(deskClient, i + (round + 1) * 1e7)());
    rounds.push({ bare: bareStats, desk: deskStats });
  }
  const last = rounds.at(-1)!;
  console.log(`slash-command ack latency, ${total} signed commands at concurrency ${concurrency} (second of two rounds):`);
  console.log(row('bare Bolt (ack only)', last.bare));
  console.log(row('AccountDesk /account status', last.desk));
  console.log(`ratio AccountDesk / bare Bolt: p50 ${(last.desk.p50 / last.bare.p50).toFixed(2)}x  p99 ${(last.desk.p99 / last.bare.p99).toFixed(2)}x  throughput ${(last.desk.perSecond / last.bare.perSecond).toFixed(2)}x`);

  await bare.stop();
  await desk.stop();
}


main().then(
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
