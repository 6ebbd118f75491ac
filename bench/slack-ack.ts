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
    // With botId and botUserId given, Bolt makes no auth.test call (docs/slack.md#web-api-client).
    botId: 'B0BENCH',
    botUserId: 'U0BENCHBOT',
  });
  bare.command('/account', async ({ ack }) => ack());
  await bare.start(barePort);
  const bareClient = createSignedSlackClient({
    url: `http://127.0.0.1:${barePort}/slack/events`,
    signingSecret: SIGNING_SECRET,
  });

  // Production log level: the bench measures the app, not the test harness's debug capture.
  const desk = await startDesk({ logLevel: 'info' });
  const deskClient = desk.client;

  // Two AccountDesk paths: a typo (parse, replay guard, ack with the error text: nothing after the ack) and
  // `status <id>` (the same, then a store read and an answer POSTed to a response_url on the fake Slack).
  const send = async (client: typeof bareClient, text: string, i: number, responseUrl: string) => {
    const res = await client.slashCommand({
      command: '/account',
      text,
      userId: REQUESTER,
      triggerId: `${Date.now()}.${i}.${Math.random()}`,
      responseUrl,
    });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${res.body}`);
  };
  const responseUrl = () => desk.slack.newResponseUrl({ userId: REQUESTER, channelId: 'C0GENERAL' });
  const workloads = {
    bare: (i: number) => send(bareClient, `status AD-BENCH${i}`, i, 'http://127.0.0.1:9/unused'),
    typo: (i: number) => send(deskClient, `frobnicate ${i}`, i, 'http://127.0.0.1:9/unused'),
    status: (i: number) => send(deskClient, `status AD-BENCH${i}`, i, responseUrl()),
  };
  const results: Record<string, Awaited<ReturnType<typeof drive>>> = {};
  for (let round = 0; round < 2; round++) {
    for (const [name, task] of Object.entries(workloads)) {
      await drive(warmup, concurrency, (i) => task(i + round * 1e7 + 5e6));
      results[name] = await drive(total, concurrency, (i) => task(i + round * 1e7));
    }
  }
  const ratio = (a: Awaited<ReturnType<typeof drive>>, b: Awaited<ReturnType<typeof drive>>) =>
    `p50 ${(a.p50 / b.p50).toFixed(2)}x  p99 ${(a.p99 / b.p99).toFixed(2)}x  ` +
    `throughput ${(a.perSecond / b.perSecond).toFixed(2)}x`;
  console.log(
    `slash-command ack latency, ${total} signed commands at concurrency ${concurrency} (second of two rounds):`,
  );
  console.log(row('bare Bolt (ack only)', results.bare!));
  console.log(row('AccountDesk, a typo (ack only)', results.typo!));
  console.log(row('AccountDesk, status <id>', results.status!));
  console.log(`ratio typo / bare Bolt:   ${ratio(results.typo!, results.bare!)}`);
  console.log(`ratio status / bare Bolt: ${ratio(results.status!, results.bare!)}`);

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
