/**
 * `npm run bench:report`: the README's benchmark table, in Markdown, from bench/results.json (written by
 * `npm run bench`), headed by the date, the machine and the commit measured, so the README only ever quotes a
 * real run. Every cell is the median over the rounds with the spread (lowest-highest round) in brackets; a ratio
 * is AccountDesk's figure over the bare Bolt app's of the same round.
 *
 *   npx tsx bench/report.ts [results.json]
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { formatSpread, spread, type RunStats, type Spread } from './stats.js';

type Figures = Record<string, number | null>;

interface Results {
  date: string;
  machine: {
    cpuModel: string;
    cpus: number;
    ramGiB: number;
    node: string;
    platform: string;
    loadAverage?: { start: number; end: number };
  };
  commit: string;
  durationSeconds?: number;
  rounds: number;
  quick: boolean;
  benches: {
    'hot-path'?: {
      sizes: { help: number; creates: number; mixed: number; concurrency: number; pendingEach: number };
      rounds: { bare: Figures; bot: Figures }[];
    };
    'backend-overhead'?: { calls: number; concurrency: number; rounds: { raw: RunStats; client: RunStats }[] };
    'store-race'?: Record<string, unknown> & { rounds: number };
    'store-hot-path'?: {
      writes: number;
      concurrency: number;
      readers: number;
      rounds: Record<'old' | 'new', { readP50: number; readP99: number; onceP50: number }[]>;
    };
  };
}

interface ClaimRace {
  rounds: number;
  singleWinner: number;
}

const file = process.argv[2] ?? fileURLToPath(new URL('results.json', import.meta.url));
if (!existsSync(file)) {
  console.error(`${file} does not exist yet: run \`npm run bench\` first, it writes it.`);
  process.exit(1);
}
const results = JSON.parse(readFileSync(file, 'utf8')) as Results;

const count = (n: number) => n.toLocaleString('en-US');
/** Milliseconds as people read them: "340 ms", or "6.3 s" when the median is a second or more. */
const duration = (s: Spread | null) => {
  if (!s) return '-';
  if (s.median < 1000) return `${formatSpread(s, s.median < 10 ? 1 : 0)} ms`;
  return `${formatSpread({ median: s.median / 1000, min: s.min / 1000, max: s.max / 1000 }, 1)} s`;
};
const ratio = (s: Spread | null) => (s ? `${formatSpread(s, 2)}x` : '-');

const rows: string[][] = [];
const hot = results.benches['hot-path'];
if (hot) {
  const { sizes } = hot;
  const of = (subject: 'bare' | 'bot', key: string) => spread(hot.rounds.map((r) => r[subject][key]));
  const ratioOf = (key: string) =>
    spread(
      hot.rounds.map((r) => {
        const [bot, bare] = [r.bot[key], r.bare[key]];
        return typeof bot === 'number' && typeof bare === 'number' && bare > 0 ? bot / bare : null;
      }),
    );
  const pair = (subject: 'bare' | 'bot', a: string, b: string) =>
    `${duration(of(subject, a))} / ${duration(of(subject, b))}`;
  const ratioPair = (a: string, b: string) => `${ratio(ratioOf(a))} / ${ratio(ratioOf(b))}`;
  const mib = (s: Spread | null) => (s ? `${formatSpread(s, 0)} MiB` : '-');
  const allOf = (key: string, expected: number) => {
    const values = hot.rounds.map((r) => r.bot[key]);
    return values.every((v) => v === expected)
      ? `all ${count(expected)}, every round`
      : values.map((v) => `${v ?? 0} of ${count(expected)}`).join(', ');
  };
  const concurrency = `at concurrency ${sizes.concurrency}`;
  const lateAcks = (subject: 'bare' | 'bot') =>
    ['help', 'create', 'mixed'].map((scenario) => formatSpread(of(subject, `${scenario}.lateAcks`), 0)).join(' / ');
  const requestsOpen = () => {
    const open = of('bot', 'pending.openRequests');
    return open && open.min === open.max ? count(open.median) : formatSpread(open, 0);
  };
  rows.push(
    [
      `\`/account help\`, ${count(sizes.help)} ${concurrency} (\`bench/hot-path.ts\`): ack p50 / p99`,
      pair('bare', 'help.ackP50Ms', 'help.ackP99Ms'),
      pair('bot', 'help.ackP50Ms', 'help.ackP99Ms'),
      ratioPair('help.ackP50Ms', 'help.ackP99Ms'),
    ],
    [
      'same: throughput; app CPU per command',
      `${formatSpread(of('bare', 'help.perSecond'), 0)}/s; ${formatSpread(of('bare', 'help.cpuMsPerCommand'), 2)} ms`,
      `${formatSpread(of('bot', 'help.perSecond'), 0)}/s; ${formatSpread(of('bot', 'help.cpuMsPerCommand'), 2)} ms`,
      `${ratio(ratioOf('help.perSecond'))}; ${ratio(ratioOf('help.cpuMsPerCommand'))}`,
    ],
    [
      'same: the answer reaches the person (in the ack or at the response_url), p50',
      '-',
      duration(of('bot', 'help.replyP50Ms')),
      '-',
    ],
    [
      `${count(sizes.creates)} \`/account create\` from distinct users ${concurrency}: ack p50 / p99`,
      pair('bare', 'create.ackP50Ms', 'create.ackP99Ms'),
      pair('bot', 'create.ackP50Ms', 'create.ackP99Ms'),
      ratioPair('create.ackP50Ms', 'create.ackP99Ms'),
    ],
    [
      "same: the requester's receipt (command sent -> Slack has it) p50 / p99",
      '-',
      pair('bot', 'create.receiptP50Ms', 'create.receiptP99Ms'),
      '-',
    ],
    ['same: the last card posted after the last ack', '-', duration(of('bot', 'create.lastCardAfterLastAckMs')), '-'],
    [
      'same: requests stored; cards posted',
      '-',
      `${allOf('create.stored', sizes.creates)}; ${allOf('create.cards', sizes.creates)}`,
      '-',
    ],
    [
      `\`pending\` as an approver with ${requestsOpen()} open requests, ` +
        `${sizes.pendingEach} beside as many \`help\`: reply p50`,
      '-',
      `${duration(of('bot', 'pending.pendingReplyP50Ms'))} (help ${duration(of('bot', 'pending.helpReplyP50Ms'))})`,
      '-',
    ],
    [
      `${count(sizes.mixed)} mixed commands (a fresh process): ` +
        `RSS at ${count(sizes.mixed / 2)} / ${count(sizes.mixed)}`,
      `${mib(of('bare', 'mixed.rssAtHalfMiB'))} / ${mib(of('bare', 'mixed.rssAtEndMiB'))}`,
      `${mib(of('bot', 'mixed.rssAtHalfMiB'))} / ${mib(of('bot', 'mixed.rssAtEndMiB'))}`,
      ratioPair('mixed.rssAtHalfMiB', 'mixed.rssAtEndMiB'),
    ],
    [
      'same: JS heap used',
      `${mib(of('bare', 'mixed.heapAtHalfMiB'))} / ${mib(of('bare', 'mixed.heapAtEndMiB'))}`,
      `${mib(of('bot', 'mixed.heapAtHalfMiB'))} / ${mib(of('bot', 'mixed.heapAtEndMiB'))}`,
      ratioPair('mixed.heapAtHalfMiB', 'mixed.heapAtEndMiB'),
    ],
  );
  // Counted since the bench stopped treating Bolt's 404 after 3 s as a crash; older results have no such figure.
  if (hot.rounds.some((r) => 'help.lateAcks' in r.bot)) {
    rows.push([
      "commands not acked within Slack's 3 s (Bolt answers 404): help / create burst / mixed",
      lateAcks('bare'),
      lateAcks('bot'),
      '-',
    ]);
  }
}

const backend = results.benches['backend-overhead'];
if (backend) {
  const over = (pick: (r: { raw: RunStats; client: RunStats }) => number) => spread(backend.rounds.map(pick));
  rows.push([
    `\`getUser\` against the fake Nextcloud, ${count(backend.calls)} at concurrency ${backend.concurrency} ` +
      `(\`bench/backend-overhead.ts\`): p50 / p99`,
    `raw undici GET: ${duration(over((r) => r.raw.p50))} / ${duration(over((r) => r.raw.p99))}`,
    `\`NextcloudClient.getUser\`: ${duration(over((r) => r.client.p50))} / ${duration(over((r) => r.client.p99))}`,
    `${ratio(over((r) => r.client.p50 / r.raw.p50))} / ${ratio(over((r) => r.client.p99 / r.raw.p99))}`,
  ]);
}

const race = results.benches['store-race'];
if (race) {
  const engines = Object.entries(race).filter(([key]) => key !== 'rounds') as [
    string,
    { inProcess: ClaimRace; processes: { claims: ClaimRace } },
  ][];
  const won = engines
    .map(
      ([engine, r]) =>
        `${engine}: ${count(r.inProcess.singleWinner)} (2 connections), ${count(r.processes.claims.singleWinner)}` +
        ` (2 processes)`,
    )
    .join('; ');
  rows.push([
    `claim race approved -> applying, ${count(race.rounds)} rounds (\`bench/store-race.ts\`)`,
    '-',
    `rounds with exactly one winner: ${won}`,
    '-',
  ]);
}

const storeHotPath = results.benches['store-hot-path'];
if (storeHotPath) {
  const { old, new: current } = storeHotPath.rounds;
  type Field = 'readP50' | 'readP99' | 'onceP50';
  const of = (form: typeof old, field: Field) => spread(form.map((r) => r[field]));
  const ratioOf = (field: Field) => spread(current.map((r, i) => r[field] / old[i]![field]));
  const figures = (form: typeof old) =>
    `read p50 ${duration(of(form, 'readP50'))}, p99 ${duration(of(form, 'readP99'))}; ` +
    `\`once()\` p50 ${duration(of(form, 'onceP50'))}`;
  rows.push([
    `SQLite hot path, ${count(storeHotPath.writes)} audited inserts at concurrency ${storeHotPath.concurrency} ` +
      `with ${storeHotPath.readers} readers (\`bench/store-hot-path.ts\`)`,
    `one connection for everything, fsynced once-keys: ${figures(old)}`,
    `reads on their own WAL connection, once-keys without an fsync: ${figures(current)}`,
    `read ${ratio(ratioOf('readP50'))} p50, ${ratio(ratioOf('readP99'))} p99; once ${ratio(ratioOf('onceP50'))} p50`,
  ]);
}

const { machine } = results;
const heading =
  `Measured ${results.date.slice(0, 16).replace('T', ' ')} UTC on ${machine.cpus} x ${machine.cpuModel}, ` +
  `${machine.ramGiB} GiB RAM, Node ${machine.node} (${machine.platform}), commit ${results.commit}` +
  (machine.loadAverage ? `, 1-minute load average ${machine.loadAverage.start.toFixed(1)} at the start` : '') +
  (results.durationSeconds ? `; the whole run took ${Math.round(results.durationSeconds / 60)} min` : '') +
  `; ${results.rounds} rounds, bare Bolt and AccountDesk alternating; median (lowest-highest round)` +
  `${results.quick ? '; --quick sizes, a smoke run, not figures to quote' : ''}:`;
console.log(`${wrap(heading, 120)}\n`);
console.log('| what | bare Bolt app (only acks) | AccountDesk | ratio |');
console.log('|---|---|---|---|');
for (const row of rows) console.log(`| ${row.join(' | ')} |`);

/** Breaks a paragraph into lines of at most `width` characters, between words (the README keeps to 120 columns). */
function wrap(text: string, width: number): string {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  return [...lines, line].join('\n');
}
