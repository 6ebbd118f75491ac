/**
 * The hot path as a new user meets it: AccountDesk (the real app, SQLite store in a temp dir, HTTP mode) beside a
 * bare Bolt 5 app that only acks. Each app, the fake Slack and the fake backends run in processes of their own
 * (bench/processes/); this process is only the load generator, sending slash commands signed as Slack signs them,
 * so nothing measured shares its event loop. Baseline and subject alternate over the rounds, the order flipped
 * every round so that a busy machine's drift hits both alike; every ratio is taken within one round.
 *
 * In the order run, on one app process:
 *   - `help`, at concurrency 50: ack p50/p99, throughput, the app process's CPU time per command, and when the
 *     answer reached the person (in the ack, or posted to the response_url);
 *   - a burst of `create` commands from distinct users: ack p50/p99; the requester's receipt (sent -> the fake
 *     Slack receives it); the last card posted after the last ack; every request stored, every card posted;
 *   - with those requests open: `pending` (as an approver, who sees them all) beside `help`, reply p50;
 * then on a fresh app process, mixed commands: the app's RSS and JS heap half-way and at the end.
 *
 *   npx tsx bench/hot-path.ts [--rounds 3] [--quick]
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  APPROVALS,
  APPROVER,
  GROUP_APPROVER,
  readLocalFakesConfig,
  REQUESTER,
  SECRETS,
  SIGNING_SECRET,
} from '../test/e2e/harness.js';
import { freePort } from '../test/support/net.js';
import { createSignedSlackClient, type SignedSlackClient } from '../test/support/slack-client.js';
import { visibleText } from '../test/support/slack-fake.js';
import type { ProcessUsage } from './processes/app.js';
import { BenchChild } from './processes/ipc.js';
import { benchOptions, formatSpread, percentile, saveFigures, spread } from './stats.js';

const options = benchOptions();

/** The sizes of issue 13's measurements; --quick shrinks them for a smoke run. */
const sizes = options.quick
  ? { warmup: 50, help: 200, creates: 100, pendingEach: 20, mixed: 1_000, concurrency: 50, pendingConcurrency: 10 }
  : {
      warmup: 200,
      help: 2_000,
      creates: 1_000,
      pendingEach: 100,
      mixed: 10_000,
      concurrency: 50,
      pendingConcurrency: 10,
    };
/** How long the cards of the create burst may take to appear before the run counts them as missing. */
const CARDS_TIMEOUT_MS = 180_000;
/** How long answers posted to response_urls may take to arrive after the last ack. */
const REPLIES_TIMEOUT_MS = 60_000;
const CHANNEL = 'C0GENERAL';

type Subject = 'bare' | 'bot';

/** One slash command to send: who types it, what, and the response_url its answer may be posted to. */
interface Command {
  user: string;
  text: string;
  responseUrl: string;
}

interface Sent {
  /** Wall-clock ms (sub-ms precision) when the request left; comparable with the fake Slack's arrival times. */
  sentAt: number;
  ackMs: number;
  /** The text of the ack's body, when the app answered in the ack. */
  ackText: string;
  /** Not acknowledged within Slack's 3 s: Bolt itself answered 404 when its timer ran out. */
  late: boolean;
}

/** Every figure of one app in one round; null where it does not apply (the bare app stores nothing). */
export type Figures = Record<string, number | null>;

interface SubjectRun {
  figures: Figures;
  /** What must hold whatever the speed: every request stored, every card posted, every answer received. */
  problems: string[];
  /** Wall-clock seconds each scenario took, start-ups included: where a long run spends its time. */
  seconds: Record<string, number>;
}

const now = () => performance.timeOrigin + performance.now();

async function sendAll(client: SignedSlackClient, commands: Command[], concurrency: number): Promise<Sent[]> {
  const sent: Sent[] = new Array<Sent>(commands.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < commands.length) {
        const i = next++;
        const command = commands[i]!;
        const sentAt = now();
        const result = await client.slashCommand({
          command: '/account',
          text: command.text,
          userId: command.user,
          channelId: CHANNEL,
          responseUrl: command.responseUrl,
          triggerId: `${i}.${Math.floor(sentAt)}.bench`,
        });
        const ackMs = now() - sentAt;
        // Bolt's HTTPReceiver answers 404 itself when no listener acked within 3001 ms (HTTPResponseAck's
        // unhandledRequestTimeoutMillis); Slack would have shown the person an error by then
        // (docs/slack.md#acknowledge-within-3-seconds). Counted, not fatal: it is what the bench is for.
        const late = result.status === 404 && ackMs >= 3000;
        if (result.status !== 200 && !late)
          throw new Error(`"/account ${command.text}" was answered HTTP ${result.status}`);
        const ackText = late ? '' : result.json ? visibleText(result.json) : result.body;
        sent[i] = { sentAt, ackMs, ackText: ackText.trim(), late };
      }
    }),
  );
  return sent;
}

const p = (values: number[], pct: number) =>
  values.length === 0
    ? null
    : percentile(
        [...values].sort((a, b) => a - b),
        pct,
      );

/** The running processes of one app's measurement: the fake Slack, the fake backends, the app. */
class Rig {
  private readonly apps: BenchChild<{ port: number }>[] = [];

  private constructor(
    readonly subject: Subject,
    readonly slack: BenchChild<{ apiUrl: string; token: string }>,
    private readonly backends: BenchChild<{ cloud: string; nas: string; sso: string }>,
    private readonly dir: string,
  ) {}

  static async start(subject: Subject): Promise<Rig> {
    const [slack, backends] = await Promise.all([
      // The approvers' user group of config/local-fakes.yaml, with one member, as test/e2e/harness.ts seeds it.
      BenchChild.start<{ apiUrl: string; token: string }>('fake-slack.ts', [APPROVALS, 'S0ITADMINS', GROUP_APPROVER]),
      BenchChild.start<{ cloud: string; nas: string; sso: string }>('fake-backends.ts', [], SECRETS),
    ]);
    const dir = mkdtempSync(join(tmpdir(), 'accountdesk-bench-'));
    const config = readLocalFakesConfig();
    config.backends.cloud.url = backends.ready.cloud;
    config.backends.nas.url = backends.ready.nas;
    config.backends.sso.url = backends.ready.sso;
    writeFileSync(join(dir, 'accountdesk.yaml'), stringify(config));
    return new Rig(subject, slack, backends, dir);
  }

  /** The app in a fresh process with a fresh SQLite store (named `store`), configured as `npm start` is. */
  async startApp(store: string): Promise<{ app: BenchChild<{ port: number }>; client: SignedSlackClient }> {
    const port = await freePort();
    const app = await BenchChild.start<{ port: number }>('app.ts', [this.subject], {
      SLACK_BOT_TOKEN: this.slack.ready.token,
      SLACK_MODE: 'http',
      SLACK_SIGNING_SECRET: SIGNING_SECRET,
      SLACK_API_URL: this.slack.ready.apiUrl,
      PORT: String(port),
      CONFIG_FILE: join(this.dir, 'accountdesk.yaml'),
      STORE_URL: `sqlite://${join(this.dir, `${store}.sqlite`)}`,
      LOG_LEVEL: 'info',
      LOG_PRETTY: '',
      ...SECRETS,
    });
    this.apps.push(app);
    const client = createSignedSlackClient({
      url: `http://127.0.0.1:${port}/slack/events`,
      signingSecret: SIGNING_SECRET,
    });
    return { app, client };
  }

  /** Commands for `users` and `texts` (one each), each with a response_url of its own on the fake Slack. */
  async commands(users: string[], texts: string[]): Promise<Command[]> {
    const urls = await this.slack.ask<string[]>('responseUrls', { userIds: users, channelId: CHANNEL });
    return users.map((user, i) => ({ user, text: texts[i]!, responseUrl: urls[i]! }));
  }

  /**
   * How long each command's answer took to reach the person: the ack itself when it carried the answer, else the
   * first post to its response_url. Waits for the posts still on their way; a command never answered is null.
   */
  async replyMs(commands: Command[], sent: Sent[]): Promise<(number | null)[]> {
    const deadline = Date.now() + REPLIES_TIMEOUT_MS;
    const viaUrl = commands.map((_, i) => sent[i]!.ackText === '');
    const urls = commands.map((c) => c.responseUrl);
    for (;;) {
      const arrived = await this.slack.ask<(number | null)[]>('firstPosts', { urls });
      const missing = arrived.filter((at, i) => viaUrl[i] && at === null).length;
      if (missing === 0 || Date.now() > deadline) {
        return sent.map((s, i) => (viaUrl[i] ? (arrived[i] === null ? null : arrived[i]! - s.sentAt) : s.ackMs));
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  /** Stops every process of the rig still running (apps a failed scenario left, the fakes). */
  async stop(): Promise<void> {
    await Promise.all([...this.apps, this.slack, this.backends].map((child) => child.stop()));
    rmSync(this.dir, { recursive: true, force: true });
  }
}

const toMiB = (bytes: number) => bytes / 1024 / 1024;
const replyFigure = (replies: (number | null)[]) =>
  p(
    replies.filter((r): r is number => r !== null),
    50,
  );

/** What a scenario gets: the rig, the running app and a client signing commands for it; where it writes. */
interface Scenario {
  rig: Rig;
  app: BenchChild<{ port: number }>;
  client: SignedSlackClient;
  figures: Figures;
  problems: string[];
}

async function measure(subject: Subject, round: number): Promise<SubjectRun> {
  const figures: Figures = {};
  const problems: string[] = [];
  const seconds: Record<string, number> = {};
  let phaseStarted = Date.now();
  const phaseDone = (phase: string) => {
    seconds[phase] = Math.round((Date.now() - phaseStarted) / 100) / 10;
    phaseStarted = Date.now();
  };
  const rig = await Rig.start(subject);
  try {
    const first = { rig, ...(await rig.startApp('store')), figures, problems };
    await helpScenario(first);
    phaseDone('help');
    const stored = await createBurst(first, round);
    phaseDone('create');
    if (subject === 'bot') {
      await pendingScenario(first, stored);
      phaseDone('pending');
    }
    await first.app.stop();
    await mixedScenario({ rig, ...(await rig.startApp('mixed')), figures, problems });
    phaseDone('mixed');
  } finally {
    await rig.stop();
  }
  return { figures, problems, seconds };
}

/** `help` at concurrency 50 (after a warm-up): acks, throughput, the app's CPU per command, when answers arrive. */
async function helpScenario({ rig, app, client, figures, problems }: Scenario): Promise<void> {
  const helps = (n: number) => rig.commands(Array<string>(n).fill(REQUESTER), Array<string>(n).fill('help'));
  await sendAll(client, await helps(sizes.warmup), sizes.concurrency);
  const commands = await helps(sizes.help);
  const before = await app.ask<ProcessUsage>('usage');
  const started = now();
  const sent = await sendAll(client, commands, sizes.concurrency);
  const wallMs = now() - started;
  const after = await app.ask<ProcessUsage>('usage');
  const acks = sent.map((s) => s.ackMs);
  figures['help.ackP50Ms'] = p(acks, 50);
  figures['help.ackP99Ms'] = p(acks, 99);
  figures['help.lateAcks'] = sent.filter((s) => s.late).length;
  figures['help.perSecond'] = (sizes.help / wallMs) * 1000;
  figures['help.cpuMsPerCommand'] = (after.cpuMicros - before.cpuMicros) / 1000 / sizes.help;
  if (rig.subject === 'bare') return;
  const replies = await rig.replyMs(commands, sent);
  figures['help.replyP50Ms'] = replyFigure(replies);
  const unanswered = replies.filter((r) => r === null).length;
  if (unanswered > 0) problems.push(`${unanswered} of ${sizes.help} help commands got no answer`);
}

/**
 * A burst of creates, each from a user of its own: acks; then (AccountDesk) the receipts, the cards, the requests
 * stored, which it returns.
 */
async function createBurst({ rig, app, client, figures, problems }: Scenario, round: number): Promise<number> {
  const creators = Array.from({ length: sizes.creates }, (_, i) => `U0C${String(i).padStart(6, '0')}`);
  const commands = await rig.commands(
    creators,
    creators.map((_, i) => `create cloud bench${i} bench${i}@example.com 10GB load test ${round}`),
  );
  const sent = await sendAll(client, commands, sizes.concurrency);
  const lastAckAt = Math.max(...sent.map((s) => s.sentAt + s.ackMs));
  const acks = sent.map((s) => s.ackMs);
  figures['create.ackP50Ms'] = p(acks, 50);
  figures['create.ackP99Ms'] = p(acks, 99);
  figures['create.lateAcks'] = sent.filter((s) => s.late).length;
  if (rig.subject === 'bare') return 0;

  const receipts = (await rig.replyMs(commands, sent)).filter((r): r is number => r !== null);
  figures['create.receiptP50Ms'] = p(receipts, 50);
  figures['create.receiptP99Ms'] = p(receipts, 99);
  if (receipts.length < sizes.creates)
    problems.push(`${sizes.creates - receipts.length} of ${sizes.creates} requesters got no receipt`);
  const cards = await waitForCards(rig, sizes.creates);
  figures['create.cards'] = cards.cards;
  figures['create.lastCardAfterLastAckMs'] = cards.lastCardAt === null ? null : cards.lastCardAt - lastAckAt;
  if (cards.cards !== sizes.creates) problems.push(`${cards.cards} of ${sizes.creates} cards were posted`);
  const stored = await app.ask<number>('requestsStored');
  figures['create.stored'] = stored;
  if (stored !== sizes.creates) problems.push(`${stored} of ${sizes.creates} requests were stored`);
  return stored;
}

/** With the burst's requests open: `pending` as an approver (who sees them all) alternating with `help`. */
async function pendingScenario({ rig, client, figures, problems }: Scenario, open: number): Promise<void> {
  const users = Array.from({ length: sizes.pendingEach * 2 }, (_, i) => (i % 2 ? REQUESTER : APPROVER));
  const commands = await rig.commands(
    users,
    users.map((_, i) => (i % 2 ? 'help' : 'pending')),
  );
  const replies = await rig.replyMs(commands, await sendAll(client, commands, sizes.pendingConcurrency));
  figures['pending.openRequests'] = open;
  figures['pending.pendingReplyP50Ms'] = replyFigure(replies.filter((_, i) => i % 2 === 0));
  figures['pending.helpReplyP50Ms'] = replyFigure(replies.filter((_, i) => i % 2 === 1));
  const unanswered = replies.filter((r) => r === null).length;
  if (unanswered > 0) problems.push(`${unanswered} of the pending/help commands got no answer`);
}

/** Mixed commands on a fresh process: acks, throughput, and the process's memory half-way and at the end. */
async function mixedScenario({ rig, app, client, figures }: Scenario): Promise<void> {
  const mixed = await mixedCommands(rig, sizes.mixed);
  const half = Math.floor(mixed.length / 2);
  const started = now();
  const firstHalf = await sendAll(client, mixed.slice(0, half), sizes.concurrency);
  const atHalf = await app.ask<ProcessUsage>('usage');
  const secondHalf = await sendAll(client, mixed.slice(half), sizes.concurrency);
  const atEnd = await app.ask<ProcessUsage>('usage');
  figures['mixed.perSecond'] = (mixed.length / (now() - started)) * 1000;
  const acks = [...firstHalf, ...secondHalf].map((s) => s.ackMs);
  figures['mixed.ackP50Ms'] = p(acks, 50);
  figures['mixed.ackP99Ms'] = p(acks, 99);
  figures['mixed.lateAcks'] = [...firstHalf, ...secondHalf].filter((s) => s.late).length;
  figures['mixed.rssAtHalfMiB'] = toMiB(atHalf.rssBytes);
  figures['mixed.rssAtEndMiB'] = toMiB(atEnd.rssBytes);
  figures['mixed.heapAtHalfMiB'] = toMiB(atHalf.heapUsedBytes);
  figures['mixed.heapAtEndMiB'] = toMiB(atEnd.heapUsedBytes);
  await app.stop();
}

/** Mixed traffic, ten commands a cycle: a create (a new user each time), help x4, typos x2, status, pending x2. */
async function mixedCommands(rig: Rig, total: number): Promise<Command[]> {
  const users: string[] = [];
  const texts: string[] = [];
  for (let i = 0; i < total; i++) {
    const cycle = Math.floor(i / 10);
    const creator = `U0M${String(cycle).padStart(6, '0')}`;
    const [user, text] = (
      [
        [creator, `create cloud mixed${cycle} mixed${cycle}@example.com 10GB load test`],
        [REQUESTER, 'help'],
        [REQUESTER, `frobnicate ${i}`],
        [REQUESTER, 'status AD-222222'],
        [REQUESTER, 'help'],
        [APPROVER, 'pending'],
        [REQUESTER, 'help'],
        [REQUESTER, 'disable'],
        [REQUESTER, 'help'],
        [creator, 'pending'],
      ] as const
    )[i % 10]!;
    users.push(user);
    texts.push(text);
  }
  return rig.commands(users, texts);
}

async function waitForCards(rig: Rig, expected: number): Promise<{ cards: number; lastCardAt: number | null }> {
  const deadline = Date.now() + CARDS_TIMEOUT_MS;
  for (;;) {
    const seen = await rig.slack.ask<{ cards: number; lastCardAt: number | null }>('cards');
    if (seen.cards >= expected || Date.now() > deadline) return seen;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** What is printed, in order: figure key, label, unit, decimals. */
const SHOWN: [key: string, label: string, unit: string, decimals: number][] = [
  ['help.ackP50Ms', 'help: ack p50', 'ms', 1],
  ['help.ackP99Ms', 'help: ack p99', 'ms', 1],
  ['help.lateAcks', 'help: not acked within 3 s', '', 0],
  ['help.perSecond', 'help: throughput', '/s', 0],
  ['help.cpuMsPerCommand', 'help: app CPU per command', 'ms', 2],
  ['help.replyP50Ms', 'help: answer reaches the person, p50', 'ms', 1],
  ['create.ackP50Ms', 'create burst: ack p50', 'ms', 1],
  ['create.ackP99Ms', 'create burst: ack p99', 'ms', 1],
  ['create.lateAcks', 'create burst: not acked within 3 s', '', 0],
  ['create.receiptP50Ms', 'create burst: receipt p50', 'ms', 0],
  ['create.receiptP99Ms', 'create burst: receipt p99', 'ms', 0],
  ['create.lastCardAfterLastAckMs', 'create burst: last card after last ack', 'ms', 0],
  ['create.stored', 'create burst: requests stored', '', 0],
  ['create.cards', 'create burst: cards posted', '', 0],
  ['pending.pendingReplyP50Ms', 'pending, ~all burst requests open: reply p50', 'ms', 0],
  ['pending.helpReplyP50Ms', 'help beside it: reply p50', 'ms', 0],
  ['mixed.ackP50Ms', 'mixed: ack p50', 'ms', 1],
  ['mixed.ackP99Ms', 'mixed: ack p99', 'ms', 1],
  ['mixed.lateAcks', 'mixed: not acked within 3 s', '', 0],
  ['mixed.perSecond', 'mixed: throughput', '/s', 0],
  ['mixed.rssAtHalfMiB', 'mixed: RSS half-way', 'MiB', 0],
  ['mixed.rssAtEndMiB', 'mixed: RSS at the end', 'MiB', 0],
  ['mixed.heapAtHalfMiB', 'mixed: JS heap half-way', 'MiB', 0],
  ['mixed.heapAtEndMiB', 'mixed: JS heap at the end', 'MiB', 0],
];

interface Round {
  order: Subject[];
  bare: Figures;
  bot: Figures;
  problems: string[];
  seconds: Record<Subject, Record<string, number>>;
}

async function main(): Promise<void> {
  console.log(
    `${options.rounds} round(s)${options.quick ? ', --quick sizes' : ''}: help ${sizes.help} at concurrency ` +
      `${sizes.concurrency}; create burst ${sizes.creates}; pending x${sizes.pendingEach} beside help ` +
      `x${sizes.pendingEach}; mixed ${sizes.mixed}`,
  );
  const rounds: Round[] = [];
  for (let round = 0; round < options.rounds; round++) {
    const order: Subject[] = round % 2 === 0 ? ['bare', 'bot'] : ['bot', 'bare'];
    const runs: Partial<Record<Subject, SubjectRun>> = {};
    for (const subject of order) {
      const started = Date.now();
      // A shared machine can fail one run (a process killed, a port taken): say so and measure that app again once.
      runs[subject] = await measure(subject, round).catch((err: unknown) => {
        console.error(`round ${round + 1}: ${subject} failed, measuring it again: ${String(err)}`);
        return measure(subject, round);
      });
      const phases = Object.entries(runs[subject].seconds)
        .map(([phase, s]) => `${phase} ${s} s`)
        .join(', ');
      console.log(
        `round ${round + 1}: ${subject} measured in ${((Date.now() - started) / 1000).toFixed(0)} s (${phases})`,
      );
    }
    rounds.push({
      order,
      bare: runs.bare!.figures,
      bot: runs.bot!.figures,
      problems: [...runs.bare!.problems, ...runs.bot!.problems],
      seconds: { bare: runs.bare!.seconds, bot: runs.bot!.seconds },
    });
  }

  const widths = [46, 24, 24, 20];
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join(' ');
  console.log(`\nmedian (min-max) over ${rounds.length} round(s); ratio = AccountDesk / bare Bolt, same round`);
  console.log(line(['figure', 'bare Bolt', 'AccountDesk', 'ratio']));
  for (const [key, label, unit, decimals] of SHOWN) {
    const bare = spread(rounds.map((r) => r.bare[key]));
    const bot = spread(rounds.map((r) => r.bot[key]));
    const ratio = spread(rounds.map((r) => ratioOf(r.bot[key], r.bare[key])));
    const withUnit = (s: string) => (s === '-' || unit === '' ? s : `${s} ${unit}`);
    const ratioText = ratio ? `${formatSpread(ratio, 2)}x` : '-';
    console.log(
      line([label, withUnit(formatSpread(bare, decimals)), withUnit(formatSpread(bot, decimals)), ratioText]),
    );
  }
  saveFigures('hot-path', { quick: options.quick, sizes, rounds });
  const problems = rounds.flatMap((r, i) => r.problems.map((problem) => `round ${i + 1}: ${problem}`));
  for (const problem of problems) console.error(`PROBLEM ${problem}`);
  if (problems.length > 0) process.exitCode = 1;
}

const ratioOf = (subject: number | null | undefined, baseline: number | null | undefined) =>
  typeof subject === 'number' && typeof baseline === 'number' && baseline > 0 ? subject / baseline : null;

await main();
