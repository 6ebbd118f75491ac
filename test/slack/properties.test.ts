/**
 * Property-based checks (fast-check, fixed seed so a failure reproduces) over the command parser and every text
 * builder: for any input, nothing throws, nothing the person typed reaches Slack with a live < > or &, and no text
 * is over the Slack limit of the place it goes (header 150, section 3000, ... as in src/slack/text.ts LIMITS).
 * A failure prints its counterexample and seed; re-run with the same seed to replay it.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UserState } from '../../src/backends/types.js';
import {
  PLAN_KINDS,
  REQUEST_ACTIONS,
  STATES,
  STEP_STATES,
  type AccountRequest,
  type Step,
} from '../../src/requests/types.js';
import { renderCard } from '../../src/slack/blocks/card.js';
import { homeView } from '../../src/slack/blocks/home.js';
import {
  auditLine,
  helpText,
  infoText,
  listText,
  passwordText,
  receiptText,
  requestLine,
  requesterDm,
} from '../../src/slack/blocks/messages.js';
import { confirmModal, rejectModal, requestModal } from '../../src/slack/blocks/modals.js';
import { failureText, unexpectedFailureText } from '../../src/slack/listeners/shared.js';
import { parseCommand } from '../../src/slack/parse.js';
import { echo, esc, LIMITS, mention, truncate, warning, when } from '../../src/slack/text.js';
import { SEAL_OVERHEAD } from '../../src/slack/view-seal.js';
import type { AuditEntry } from '../../src/store/types.js';

const SEED = 20_261_201;
const RUNS = 300;
const run = <T extends unknown[]>(property: fc.IProperty<T>) => fc.assert(property, { seed: SEED, numRuns: RUNS });

/** What people paste: Slack's control sequences, entities, quotes, new lines, and ordinary words. */
const PIECES = [
  '<!channel>',
  '<!here>',
  '<@U0VICTIM|boss>',
  '<!subteam^S0ADMINS>',
  '<https://evil.example|click>',
  '&amp;',
  '&lt;',
  '&gt;',
  '&',
  '<',
  '>',
  '"',
  '“',
  '”',
  "'",
  '`',
  '*',
  '\n',
  ' ',
  'AD-7K2M9Q',
  'cloud',
  'alice',
  'x@example.com',
  '50GB',
  'groups:staff,sales',
  'reason:',
  '...',
  '😀',
];
const piece = fc.oneof(
  fc.constantFrom(...PIECES),
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 6 }),
);
/** Usually short; sometimes far longer than any limit. */
const text = fc.oneof(
  { weight: 4, arbitrary: fc.array(piece, { maxLength: 12 }).map((parts) => parts.join('')) },
  { weight: 1, arbitrary: fc.tuple(piece, fc.integer({ min: 200, max: 1_500 })).map(([p, n]) => p.repeat(n)) },
);
const iso = fc
  .integer({ min: Date.UTC(2020, 0, 1), max: Date.UTC(2040, 0, 1) })
  .map((ms) => new Date(ms).toISOString());
/** A user id as Slack gives it, or (for robustness) any text. */
const userId = fc.oneof(fc.constantFrom('U0REQUEST1', 'U0APPROVER1', 'W0ENTERPRISE'), text);
const requestId = fc.constantFrom('AD-7K2M9Q', 'AD-22ZZ99', 'AD-ABCDEF');

const userState: fc.Arbitrary<UserState> = fc.record({
  userId: text,
  exists: fc.boolean(),
  enabled: fc.option(fc.boolean(), { nil: undefined }),
  email: fc.option(text, { nil: null }),
  displayName: fc.option(text, { nil: null }),
  quota: fc.option(
    fc.record({ limitBytes: fc.option(fc.nat(), { nil: null }), usedBytes: fc.option(fc.nat(), { nil: undefined }) }),
    { nil: undefined },
  ),
  groups: fc.option(fc.array(text, { maxLength: 4 }), { nil: undefined }),
});

const preview = fc.option(
  fc.record(
    {
      at: iso,
      current: userState,
      error: text,
      assessment: fc.record({ change: text, noOp: text, blocker: text, warning: text }, { requiredKeys: ['change'] }),
    },
    { requiredKeys: ['at'] },
  ),
  { nil: undefined },
);

const step: fc.Arbitrary<Step> = fc.record({
  backend: text,
  action: fc.constantFrom(...REQUEST_ACTIONS),
  username: text,
  // Every field set: each action reads its own (a join or leave always has its one group, the domain's invariant).
  params: fc.record({
    email: text,
    displayName: text,
    quotaBytes: fc.option(fc.nat(), { nil: null }),
    groups: fc.array(
      text.filter((group) => group !== ''),
      { minLength: 1, maxLength: 4 },
    ),
  }),
  state: fc.constantFrom(...STEP_STATES),
  attempts: fc.nat(5),
  skipIfMissing: fc.option(fc.boolean(), { nil: undefined }),
  result: fc.option(fc.record({ at: iso, summary: text }), { nil: undefined }),
  error: fc.option(fc.record({ at: iso, code: text, message: text, retryable: fc.boolean() }), { nil: undefined }),
  preview,
});

const request: fc.Arbitrary<AccountRequest> = fc.record({
  id: requestId,
  version: fc.nat(9),
  plan: fc.constantFrom(...PLAN_KINDS),
  username: text,
  profile: fc.option(text, { nil: undefined }),
  // Up to 40 steps: a plan's card must still fit its blocks whatever the count.
  steps: fc.oneof(
    { weight: 4, arbitrary: fc.array(step, { minLength: 1, maxLength: 3 }) },
    { weight: 1, arbitrary: fc.array(step, { minLength: 1, maxLength: 40 }) },
  ),
  reason: text,
  requester: userId,
  state: fc.constantFrom(...STATES),
  createdAt: iso,
  expiresAt: iso,
  approvalsRequired: fc.integer({ min: 1, max: 3 }),
  approvals: fc.array(fc.record({ by: userId, at: iso }), { maxLength: 3 }),
  decision: fc.option(fc.record({ by: userId, at: iso, reason: text }), { nil: undefined }),
});

const auditEntry: fc.Arbitrary<AuditEntry> = fc.record({
  seq: fc.integer({ min: 1, max: 1_000_000 }),
  at: iso,
  event: fc.constantFrom('requested', 'approved', 'applied', 'failed', 'rejected', 'expired', 'cancelled', 'retried'),
  subject: requestId,
  actor: fc.oneof(fc.constant('system'), userId),
  data: fc.record({
    action: text,
    username: text,
    backend: text,
    summary: text,
    error: text,
    reason: text,
    approvals: fc.nat(5),
    required: fc.nat(5),
    attempt: fc.nat(5),
    complete: fc.boolean(),
  }),
  prevHash: fc.constant(''),
  hash: fc.constant(''),
});

/**
 * Throws unless `mrkdwn` is safe: once the constructs the app itself writes are taken out (a mention of a user id
 * Slack gave it, a <!date^…> token, a quote marker at the start of a line), no < or > is left, and every & starts
 * one of the three entities Slack knows.
 */
function expectNoLiveMarkup(mrkdwn: string, where: string, allowPlaceholders = false): void {
  let rest = mrkdwn
    .replace(/<@[UWB][A-Z0-9]+>/g, '')
    .replace(/<!date\^\d+\^\{date_short_pretty\} \{time\}\|\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z>/g, '')
    .replace(/^>/gm, '');
  // The help text's own usage placeholders: `create <backend> <username>`.
  if (allowPlaceholders) rest = rest.replace(/<[a-z| ]+>/g, '');
  expect(rest, `${where}: ${mrkdwn.slice(0, 200)}`).not.toMatch(/[<>]|&(?!(?:amp|lt|gt);)/);
}

type Json = Record<string, unknown>;

/** Every text in blocks with the limit of its place (LIMITS in src/slack/text.ts, docs/slack.md#limits). */
function expectBlocksWithinLimits(blocks: unknown[], maxBlocks: number): void {
  expect(blocks.length).toBeLessThanOrEqual(maxBlocks);
  const check = (value: unknown, limit: number, where: string) => {
    if (typeof value !== 'string') return;
    expect(value.length, `${where}: ${value.slice(0, 80)}`).toBeLessThanOrEqual(limit);
    if (where.endsWith('mrkdwn')) expectNoLiveMarkup(value, where);
  };
  for (const raw of blocks) {
    const block = raw as Json;
    const text = block.text as Json | undefined;
    if (block.type === 'header') check(text?.text, LIMITS.headerText, 'header');
    if (block.type === 'section') check(text?.text, LIMITS.sectionText, `section ${String(text?.type)}`);
    if (block.type === 'context')
      for (const element of block.elements as Json[])
        check(element.text, LIMITS.contextText, `context ${String(element.type)}`);
    if (block.type === 'actions' || (block.accessory as Json | undefined)?.type === 'button') {
      const elements = block.type === 'actions' ? (block.elements as Json[]) : [block.accessory as Json];
      for (const element of elements) {
        check((element.text as Json).text, 75, 'button text');
        check(element.value, LIMITS.buttonValue, 'button value');
      }
    }
    check(block.block_id, 255, 'block_id');
  }
}

describe('properties of the command parser (any text after /account)', () => {
  it('never throws; an error names the problem in at most 500 characters, without live markup', () => {
    run(
      fc.property(text, (typed) => {
        // Slack sends the text escaped (manifest should_escape: true).
        const parsed = parseCommand(esc(typed), '/account');
        if (parsed.kind !== 'error') return;
        const shown = warning(parsed.message);
        expect(shown.length).toBeLessThanOrEqual(500);
        expectNoLiveMarkup(shown, 'parse error');
      }),
    );
  });

  it('cancel and status take any id: a long one is refused by the parser, a short one is kept', () => {
    run(
      fc.property(text, (id) => {
        const parsed = parseCommand(esc(`status "${id.replace(/["“”„]/g, '')}"`), '/account');
        expect(['status', 'error']).toContain(parsed.kind);
        if (parsed.kind === 'status') expect(parsed.id.length).toBeLessThanOrEqual(64);
      }),
    );
  });
});

describe('properties of the text helpers', () => {
  it('esc, echo, warning, truncate, mention and when: no live markup from input, within their bounds', () => {
    run(
      fc.property(text, fc.integer({ min: 1, max: 3_000 }), (input, max) => {
        expectNoLiveMarkup(esc(input), 'esc');
        expect(echo(input).length).toBeLessThanOrEqual(60 * 5);
        expectNoLiveMarkup(echo(input), 'echo');
        expect(warning(input).length).toBeLessThanOrEqual(':warning: '.length + 1_000);
        expectNoLiveMarkup(warning(input), 'warning');
        expect(truncate(esc(input), max).length).toBeLessThanOrEqual(max);
        expectNoLiveMarkup(truncate(esc(input), max), 'truncate');
        expectNoLiveMarkup(mention(input), 'mention');
        expectNoLiveMarkup(when(input), 'when');
      }),
    );
  });
});

describe('properties of the message builders', () => {
  it('receipt, request line, list, info, password, audit line, DM, failures: safe and within a message', () => {
    run(
      fc.property(
        request,
        fc.array(request, { maxLength: 25 }),
        auditEntry,
        userState,
        text,
        (req, many, entry, state, free) => {
          const texts: [string, string, number][] = [
            ['receipt', receiptText(req), LIMITS.fallbackText],
            ['request line', requestLine(req), LIMITS.sectionText],
            ['list', listText('Your open requests', many), LIMITS.sectionText],
            ['info', infoText(req.steps[0]!.backend, free, req.username, state), LIMITS.fallbackText],
            ['password', passwordText(req, req.steps[0]!, 'Xy7-pass-word-9'), LIMITS.fallbackText],
            ['audit line', auditLine(entry) ?? '', LIMITS.sectionText],
            ['requester DM', requesterDm(entry, req) ?? '', LIMITS.fallbackText],
            ['failure', failureText({ ok: false, code: 'x', message: free, request: req }), LIMITS.fallbackText],
            ['unexpected failure', unexpectedFailureText(new Error(free)), LIMITS.fallbackText],
          ];
          for (const [where, shown, limit] of texts) {
            expect(shown.length, where).toBeLessThanOrEqual(limit);
            expectNoLiveMarkup(shown, where);
          }
          // The password itself is never cut.
          expect(passwordText(req, req.steps[0]!, 'Xy7-pass-word-9')).toContain('Xy7-pass-word-9');
        },
      ),
    );
  });

  it('help: safe whatever the backend names, and within a message', () => {
    run(
      fc.property(fc.array(text, { maxLength: 5 }), (backends) => {
        const shown = helpText(
          '/account',
          REQUEST_ACTIONS.map((action) => ({ action, backends })),
        );
        expect(shown.length).toBeLessThanOrEqual(LIMITS.fallbackText);
        expectNoLiveMarkup(shown, 'help', true);
      }),
    );
  });
});

describe('properties of the block builders', () => {
  it('the approval card: every block within its limit, no live markup from the request or the preview', () => {
    run(
      fc.property(request, fc.option(text, { nil: undefined }), (req, backendKind) => {
        const backendKinds = new Map(req.steps.map((s) => [s.backend, backendKind ?? 'nextcloud']));
        const card = renderCard({ request: req, backendKinds });
        expect(card.text.length).toBeLessThanOrEqual(LIMITS.fallbackText);
        expectNoLiveMarkup(card.text, 'card fallback text');
        expectBlocksWithinLimits(card.blocks, LIMITS.blocksPerMessage);
      }),
    );
  });

  it('App Home: within 100 blocks and every limit, whatever the requests', () => {
    run(
      fc.property(
        fc.array(request, { maxLength: 30 }),
        fc.option(fc.array(request, { maxLength: 30 }), { nil: undefined }),
        (own, waiting) => {
          const view = homeView({ own, waiting, command: '/account' });
          expectBlocksWithinLimits(view.blocks, LIMITS.blocksPerView);
          expect((view.private_metadata ?? '').length + SEAL_OVERHEAD).toBeLessThanOrEqual(LIMITS.privateMetadata);
        },
      ),
    );
  });

  it('the modals: titles within 24, sections within 3000, metadata within 3000 once signed', () => {
    run(
      fc.property(request, fc.array(text, { maxLength: 5 }), text, (req, backends, channel) => {
        for (const view of [rejectModal(req), confirmModal(req)]) {
          expect(view.title.text.length).toBeLessThanOrEqual(LIMITS.modalTitle);
          expectBlocksWithinLimits(view.blocks, LIMITS.blocksPerView);
          expect((view.private_metadata ?? '').length + SEAL_OVERHEAD).toBeLessThanOrEqual(LIMITS.privateMetadata);
        }
        const form = requestModal({
          actions: [...REQUEST_ACTIONS],
          backends: backends.map((name) => ({ name, kind: 'nextcloud' })),
          metadata: { channel },
        });
        expect(form.title.text.length).toBeLessThanOrEqual(LIMITS.modalTitle);
        expect((form.private_metadata ?? '').length + SEAL_OVERHEAD).toBeLessThanOrEqual(LIMITS.privateMetadata);
      }),
    );
  });
});
