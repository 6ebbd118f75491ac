/**
 * Starts the whole AccountDesk in HTTP mode exactly as `npm start` would (loadConfig -> startAccountDesk), with
 * config/local-fakes.yaml pointed at fakes on loopback: a fake Slack Web API (SLACK_API_URL), a fake Nextcloud
 * (with user_oidc's routes mounted on it), a fake DSM and a fake nmcuser_oidc. Requests reach the app signed exactly
 * as Slack signs them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { parse, stringify } from 'yaml';
import { startAccountDesk, type RunningAccountDesk, type StartOptions } from '../../src/app.js';
import { loadConfig } from '../../src/config/load.js';
import { createLogger } from '../../src/log.js';
import type { AccountRequest } from '../../src/requests/types.js';
import { startFakeNextcloud, type FakeNextcloud, type FakeNextcloudOptions } from '../fakes/nextcloud.js';
import { startFakeNmcuserOidc, type FakeNmcuserOidc } from '../fakes/nmcuser-oidc.js';
import { startFakeDsm, type FakeDsm } from '../fakes/synology.js';
import { mountFakeUserOidc, type FakeUserOidc } from '../fakes/user-oidc.js';
import { freePort } from '../support/net.js';
import {
  createSignedSlackClient,
  type SentRequest,
  type SignedSlackClient,
  type ViewFieldInput,
} from '../support/slack-client.js';
import { startFakeSlack, visibleText, type FakeMessage, type FakeSlack, type FakeView } from '../support/slack-fake.js';

export const REQUESTER = 'U0REQUEST1';
export const APPROVER = 'U0APPROVER1';
export const APPROVER2 = 'U0APPROVER2';
export const GROUP_APPROVER = 'U0GROUPADM';
export const OUTSIDER = 'U0OUTSIDER';
export const APPROVALS = 'C0APPROVALS';
export const AUDIT = 'C0AUDITLOG';
export const SIGNING_SECRET = 'e2e-signing-secret-0123456789abcdef';
export const SECRETS = {
  NEXTCLOUD_APP_PASSWORD: 'nc-app-password-e2e-9f8e7d',
  DSM_PASSWORD: 'dsm-password-e2e-6c5b4a',
  NMC_PASSWORD: 'nmc-password-e2e-3d2c1b',
};

/** The audit-log consumers of the outbox, by the cursor name each keeps in the store (src/slack/publisher.ts). */
const OUTBOX_CONSUMERS = ['audit-channel', 'cards', 'requester-dm', 'reminders', 'batch-thread'];

/** The parts of config/local-fakes.yaml a test points at its own fakes or replaces. */
interface LocalFakesConfig {
  backends: Record<'cloud' | 'nas' | 'sso', { url: string; [setting: string]: unknown }> &
    Partial<Record<'oidc', { url: string; [setting: string]: unknown }>>;
  policy: Record<string, unknown>;
  approvers?: { users: string[]; groups: string[] };
  [section: string]: unknown;
}

/** config/local-fakes.yaml as parsed YAML, for a test to point at its fakes and write out again. */
export function readLocalFakesConfig(): LocalFakesConfig {
  return parse(readFileSync(new URL('../../config/local-fakes.yaml', import.meta.url), 'utf8')) as LocalFakesConfig;
}

/**
 * The `oidc` backend a test adds with startDesk({ userOidc: true }): user_oidc is an app on a Nextcloud server, so it
 * is the fake Nextcloud with user_oidc's routes, the same admin and password as `cloud`. Not in
 * config/local-fakes.yaml, because the tests that list or count the backends (help, modal, doctor, offboard) are
 * written for cloud, nas and sso.
 */
const USER_OIDC_BACKEND = {
  kind: 'user_oidc',
  user: 'admin',
  secretEnv: 'NEXTCLOUD_APP_PASSWORD',
  providerId: 1,
  providerIdentifier: 'Keycloak',
};

/** An approval card taken apart as an approver reads it (src/slack/blocks/card.ts builds it). */
export interface CardParts {
  /** The context line: the state, the approvals so far and by whom, the expiry. */
  status: string;
  /** The live read of the backend shown while the request waits: current state, the change, blockers. */
  preview: string;
  /** What came of the request: the backend's answer, or who decided and why. */
  outcome: string;
  /** The buttons, in order. */
  buttons: { actionId: string; label: string }[];
}

interface CardBlock {
  type: string;
  text?: { text: string };
  elements?: { action_id?: string; text?: string | { text: string } }[];
}

/** Splits a card's blocks: header, request, preview sections, the status context, outcome sections, buttons. */
function cardPartsOf(message: FakeMessage): CardParts {
  const parts: CardParts = { status: '', preview: '', outcome: '', buttons: [] };
  const sections: { afterStatus: boolean; text: string }[] = [];
  for (const block of (message.blocks as CardBlock[]).slice(2)) {
    if (block.type === 'context') {
      parts.status = (block.elements ?? []).map((e) => (typeof e.text === 'string' ? e.text : '')).join(' ');
    } else if (block.type === 'section') {
      sections.push({ afterStatus: parts.status !== '', text: block.text?.text ?? '' });
    } else if (block.type === 'actions') {
      for (const e of block.elements ?? []) {
        parts.buttons.push({ actionId: e.action_id ?? '', label: typeof e.text === 'object' ? e.text.text : '' });
      }
    }
  }
  parts.preview = sections
    .filter((s) => !s.afterStatus)
    .map((s) => s.text)
    .join('\n');
  parts.outcome = sections
    .filter((s) => s.afterStatus)
    .map((s) => s.text)
    .join('\n');
  return parts;
}

export interface Desk {
  slack: FakeSlack;
  nextcloud: FakeNextcloud;
  dsm: FakeDsm;
  nmc: FakeNmcuserOidc;
  /** user_oidc's provisioning routes on the fake Nextcloud: the `oidc` backend, when the test asked for it. */
  userOidc: FakeUserOidc;
  app: RunningAccountDesk;
  client: SignedSlackClient;
  /** Every log line the app wrote. */
  logs: string[];
  secrets: string[];
  /** Types `/account <text>` as `user` in #general; returns what the person sees (ack text or response_url posts). */
  command(user: string, text: string): Promise<string>;
  /** Clicks a button on the approval card of `requestId` as `user`; returns the ephemeral answer, if any. */
  click(user: string, actionId: string, requestId: string): Promise<string | undefined>;
  /** Clicks and waits (up to 5 s) for the ephemeral answer the click must get, e.g. a refusal; throws if none comes. */
  clickAnswer(user: string, actionId: string, requestId: string): Promise<string>;
  /** Like click, but also returns the exact signed request sent, so a test can replay it. */
  clickSigned(
    user: string,
    actionId: string,
    requestId: string,
  ): Promise<{ answer: string | undefined; sent: SentRequest }>;
  submitView(
    user: string,
    callbackId: string,
    privateMetadata: string,
    values: Record<string, Record<string, ViewFieldInput>>,
  ): Promise<unknown>;
  /** Types `/account` alone as `user` and returns the modal the app opened with that person's trigger id. */
  openRequestModal(user: string): Promise<FakeView>;
  /** The newest modal opened (views.open / push) for `user` with this callback_id, once it appears. */
  waitForModal(user: string, callbackId: string, opened?: number): Promise<FakeView>;
  /** Waits until the stored request reaches one of `states`; returns it. */
  waitForState(id: string, ...states: AccountRequest['state'][]): Promise<AccountRequest>;
  /** Moves the app's domain clock forward (request times, expiry); Slack and the fakes keep real time. */
  advanceClock(ms: number): void;
  /** The app's domain clock now (real time plus every advanceClock). */
  now(): Date;
  /**
   * Everything the app ever sent towards Slack: every Web API call's arguments and every response_url post, as
   * JSON text.
   */
  everythingSentToSlack(): string;
  /**
   * Stops the app cleanly, moves the clock forward by `downtimeMs` while it is down, and starts it again on the same
   * store, config and port (`app` is the new process from then on).
   */
  restart(downtimeMs?: number): Promise<void>;
  /** Starts a second replica of the same deployment (same store, Slack and backends) on its own port. */
  startReplica(): Promise<{ app: RunningAccountDesk; client: SignedSlackClient; logs: string[] }>;
  /** The folder holding the config file and the SQLite store. */
  dataDir: string;
  /** http://127.0.0.1:PORT of the app's HTTP receiver. */
  baseUrl: string;
  /** The card's visible text, once the outbox has drained. */
  card(requestId: string): Promise<string>;
  /** The card's status line, preview, outcome and buttons, once the outbox has drained. */
  cardParts(requestId: string): Promise<CardParts>;
  cardMessage(requestId: string): FakeMessage | undefined;
  auditLines(): string[];
  dms(user: string): string[];
  request(id: string): Promise<AccountRequest>;
  /**
   * Waits until every outbox consumer (audit channel, cards, requester DMs) has caught up with the audit log;
   * throws, naming the consumers still behind, if they have not within `timeoutMs` (5 s by default).
   */
  waitForOutboxDrained(timeoutMs?: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startDesk(
  options: {
    policy?: Record<string, unknown>;
    /** Merged into the config's slack section (e.g. postsPerSecond). */
    slack?: Record<string, unknown>;
    /** Replaces the config's approvers. */
    approvers?: { users: string[]; groups: string[] };
    env?: Record<string, string>;
    /** Debug by default, so the tests see (and check for secrets) every line the app can write. */
    logLevel?: string;
    /** Faults the fake Slack has from the very start (a missing scope fails every call, start-up's included). */
    slackFaults?: [method: string, fault: Parameters<FakeSlack['failNext']>[1]][];
    /** More start options for the app (and its replicas), e.g. outboxStuckAfterMs. */
    appOptions?: Partial<StartOptions>;
    /** Options of the fake Nextcloud, e.g. a short editLimit window. */
    nextcloud?: Partial<FakeNextcloudOptions>;
    /** Last changes to the config file before it is written (e.g. the cloud backend's editLimitWindowMs). */
    editConfig?: (config: LocalFakesConfig) => void;
    /** Adds the `oidc` backend (kind user_oidc, on the fake Nextcloud) after the three of config/local-fakes.yaml. */
    userOidc?: boolean;
  } = {},
): Promise<Desk> {
  let clockOffsetMs = 0;
  const replicas: RunningAccountDesk[] = [];
  const responseUrls: string[] = [];
  const slack = await startFakeSlack({ usergroups: { S0ITADMINS: [GROUP_APPROVER] } });
  for (const [method, fault] of options.slackFaults ?? []) slack.failNext(method, fault);
  const nextcloud = await startFakeNextcloud({
    adminUser: 'admin',
    adminPassword: SECRETS.NEXTCLOUD_APP_PASSWORD,
    ...options.nextcloud,
  });
  const dsm = await startFakeDsm({ account: 'accountdesk', password: SECRETS.DSM_PASSWORD, joinPollsUntilFinished: 1 });
  const nmc = await startFakeNmcuserOidc({
    adminUser: 'admin',
    adminPassword: SECRETS.NMC_PASSWORD,
    providers: [{ id: 1, identifier: 'keycloak' }],
  });
  // The provider USER_OIDC_BACKEND names (providerId 1, providerIdentifier Keycloak).
  const userOidc = mountFakeUserOidc(nextcloud, [{ id: 1, identifier: 'Keycloak' }]);

  const dir = mkdtempSync(join(tmpdir(), 'accountdesk-e2e-'));
  const config = readLocalFakesConfig();
  config.backends.cloud.url = nextcloud.url;
  config.backends.nas.url = dsm.url;
  config.backends.sso.url = nmc.url;
  if (options.userOidc) config.backends.oidc = { ...USER_OIDC_BACKEND, url: nextcloud.url };
  if (options.policy) config.policy = { ...config.policy, ...options.policy };
  if (options.slack) config['slack'] = { ...(config['slack'] as object), ...options.slack };
  if (options.approvers) config.approvers = options.approvers;
  options.editConfig?.(config);
  const configFile = join(dir, 'accountdesk.yaml');
  writeFileSync(configFile, stringify(config));

  const envFor = (port: number) => ({
    SLACK_BOT_TOKEN: slack.token,
    SLACK_MODE: 'http',
    SLACK_SIGNING_SECRET: SIGNING_SECRET,
    SLACK_API_URL: slack.apiUrl,
    PORT: String(port),
    CONFIG_FILE: configFile,
    STORE_URL: `sqlite://${join(dir, 'store.sqlite')}`,
    ...SECRETS,
    ...options.env,
  });
  const port = await freePort();
  const loaded = loadConfig(envFor(port));
  const logs: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      logs.push(String(chunk));
      done();
    },
  });
  const logger = createLogger({
    level: options.logLevel ?? 'debug',
    secrets: loaded.secrets,
    destination: { write: (line: string) => void destination.write(line) },
  });
  const clock = () => new Date(Date.now() + clockOffsetMs);
  const start = () =>
    startAccountDesk(loaded, {
      logger,
      publishIntervalMs: 50,
      sweepIntervalMs: 3_600_000,
      reminderIntervalMs: 3_600_000,
      clock,
      ...options.appOptions,
    });
  let app = await start();
  const client = createSignedSlackClient({
    url: `http://127.0.0.1:${port}/slack/events`,
    signingSecret: SIGNING_SECRET,
    slack,
  });

  const waitForOutboxDrained = async (timeoutMs = 5_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      // Previews and applies run outside the publisher and append entries of their own: let them finish first.
      await app.desk.previews.idle();
      await app.desk.engine.idle();
      // Kicked on every round: one pass may append what needs another (an apply finishing after a vote).
      app.publisher.kick();
      await app.publisher.idle();
      const last = (await app.store.audit.readAfter(0, 100_000)).at(-1)?.seq ?? 0;
      const behind: string[] = [];
      for (const consumer of OUTBOX_CONSUMERS) {
        const done = await app.store.cursors.get(consumer);
        if (done < last) behind.push(`${consumer} at #${done}`);
      }
      if (behind.length === 0) return;
      if (Date.now() > deadline) {
        throw new Error(
          `the outbox did not drain within ${timeoutMs} ms: the audit log is at #${last}, ` +
            `still behind: ${behind.join(', ')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  const newResponseUrl = (target: { userId: string; channelId: string; messageTs?: string }) => {
    const url = slack.newResponseUrl(target);
    responseUrls.push(url);
    return url;
  };

  const clickSigned = async (user: string, actionId: string, requestId: string, waitMs = 300) => {
    const message = cardMessage(requestId);
    if (!message) throw new Error(`no card for ${requestId}`);
    const responseUrl = newResponseUrl({ userId: user, channelId: APPROVALS, messageTs: message.ts });
    const result = await client.blockAction({
      userId: user,
      actionId,
      value: requestId,
      message: { ts: message.ts, channel: APPROVALS },
      triggerId: slack.issueTriggerId(user),
      responseUrl,
    });
    if (result.status !== 200) throw new Error(`click answered HTTP ${result.status}: ${result.body}`);
    const answer = await slack.waitFor(() => slack.responsesAt(responseUrl)[0], waitMs).catch(() => undefined);
    return { answer: answer ? visibleText(answer.body) : undefined, sent: result.request };
  };

  const waitForModal = (user: string, callbackId: string, opened = 0) =>
    slack.waitFor(() => slack.viewsOpenedFor(user).filter((v) => v.view.callback_id === callbackId)[opened], 5_000);

  const cardMessage = (requestId: string) =>
    slack.messagesIn(APPROVALS).find((m) => visibleText(m).includes(`Account request ${requestId}`));

  const desk: Desk = {
    slack,
    nextcloud,
    dsm,
    nmc,
    userOidc,
    get app() {
      return app;
    },
    client,
    logs,
    secrets: [...Object.values(SECRETS), SIGNING_SECRET, slack.token],
    async command(user, text) {
      const responseUrl = newResponseUrl({ userId: user, channelId: 'C0GENERAL' });
      const result = await client.slashCommand({
        command: '/account',
        text,
        userId: user,
        channelId: 'C0GENERAL',
        responseUrl,
        triggerId: slack.issueTriggerId(user),
      });
      if (result.status !== 200) throw new Error(`slash command answered HTTP ${result.status}: ${result.body}`);
      const acked = result.json ? visibleText(result.json) : result.body;
      if (acked.trim()) return acked;
      const answer = await slack.waitFor(() => slack.responsesAt(responseUrl)[0], 5_000).catch(() => undefined);
      return answer ? visibleText(answer.body) : '';
    },
    async click(user, actionId, requestId) {
      return (await clickSigned(user, actionId, requestId)).answer;
    },
    clickSigned: (user, actionId, requestId) => clickSigned(user, actionId, requestId),
    async clickAnswer(user, actionId, requestId) {
      const { answer } = await clickSigned(user, actionId, requestId, 5_000);
      if (answer === undefined)
        throw new Error(`${user} clicked ${actionId} on ${requestId} and got no answer within 5 s`);
      return answer;
    },
    async submitView(user, callbackId, privateMetadata, values) {
      const result = await client.viewSubmission({ userId: user, callbackId, privateMetadata, values });
      if (result.status !== 200) throw new Error(`view submission answered HTTP ${result.status}: ${result.body}`);
      return result.json;
    },
    async card(requestId) {
      await waitForOutboxDrained();
      const message = cardMessage(requestId);
      if (!message) throw new Error(`no card for ${requestId} in the approvals channel`);
      return visibleText(message);
    },
    async cardParts(requestId) {
      await waitForOutboxDrained();
      const message = cardMessage(requestId);
      if (!message) throw new Error(`no card for ${requestId} in the approvals channel`);
      return cardPartsOf(message);
    },
    cardMessage,
    auditLines: () => slack.messagesIn(AUDIT).map((m) => m.text),
    dms: (user) => slack.dmsTo(user).map((m) => visibleText(m)),
    async request(id) {
      const found = await app.desk.queries.get(id);
      if (!found) throw new Error(`no request ${id}`);
      return found;
    },
    async openRequestModal(user) {
      const before = slack.viewsOpenedFor(user).filter((v) => v.view.callback_id === 'request_modal').length;
      const responseUrl = newResponseUrl({ userId: user, channelId: 'C0GENERAL' });
      const result = await client.slashCommand({
        command: '/account',
        text: '',
        userId: user,
        channelId: 'C0GENERAL',
        responseUrl,
        triggerId: slack.issueTriggerId(user),
      });
      if (result.status !== 200) throw new Error(`slash command answered HTTP ${result.status}: ${result.body}`);
      return waitForModal(user, 'request_modal', before);
    },
    waitForModal,
    async waitForState(id, ...states) {
      let last: AccountRequest | undefined;
      const reached = await poll(
        async () => {
          last = await app.desk.queries.get(id);
          return last && states.includes(last.state) ? last : undefined;
        },
        () => `${id} did not reach ${states.join(' or ')} within 5 s (it is ${last?.state ?? 'missing'})`,
      );
      // The audit entry is appended just after the state change: wait for it too, so what Slack is told next is
      // deterministic (applying and approved have no entry of their own name).
      if (!['applying', 'approved', 'pending'].includes(reached.state)) {
        await poll(
          async () => {
            const entries = await app.store.audit.readAfter(0, 100_000);
            return entries.some((e) => e.subject === id && e.event === reached.state) || undefined;
          },
          () => `no "${reached.state}" audit entry for ${id}`,
        );
      }
      return reached;
    },
    advanceClock(ms) {
      clockOffsetMs += ms;
    },
    now: clock,
    async restart(downtimeMs = 0) {
      await app.stop();
      clockOffsetMs += downtimeMs;
      app = await start();
    },
    everythingSentToSlack() {
      const calls = slack.calls().map((c) => JSON.stringify({ method: c.method, args: c.args }));
      const responses = responseUrls.flatMap((url) => slack.responsesAt(url).map((r) => JSON.stringify(r.body)));
      return [...calls, ...responses].join('\n');
    },
    async startReplica() {
      // A second process of the same deployment: same config, same store, same Slack app, its own port.
      const replicaPort = await freePort();
      const replicaConfig = loadConfig(envFor(replicaPort));
      const replicaLogs: string[] = [];
      const replicaLogger = createLogger({
        level: 'info',
        secrets: replicaConfig.secrets,
        destination: { write: (line: string) => void replicaLogs.push(line) },
      });
      const replica = await startAccountDesk(replicaConfig, {
        logger: replicaLogger,
        publishIntervalMs: 50,
        sweepIntervalMs: 3_600_000,
        // The same deployment shares one notion of time: a test that moves the clock moves it for every replica.
        clock,
        reminderIntervalMs: 3_600_000,
        ...options.appOptions,
      });
      replicas.push(replica);
      return {
        app: replica,
        client: createSignedSlackClient({
          url: `http://127.0.0.1:${replicaPort}/slack/events`,
          signingSecret: SIGNING_SECRET,
          slack,
        }),
        logs: replicaLogs,
      };
    },
    dataDir: dir,
    baseUrl: `http://127.0.0.1:${port}`,
    waitForOutboxDrained: (timeoutMs) => waitForOutboxDrained(timeoutMs),
    async stop() {
      for (const replica of replicas) await replica.stop();
      await app.stop();
      await Promise.all([slack.close(), nextcloud.close(), dsm.close(), nmc.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return desk;
}

/** The request id in a receipt ("Request *AD-XXXXXX* is in"). */
export function requestIdIn(text: string): string {
  const match = /AD-[2-9A-HJKMNP-Z]{6}/.exec(text);
  if (!match) throw new Error(`no request id in: ${text}`);
  return match[0];
}

/** Polls a condition, async or not (fake Slack's waitFor takes only synchronous ones), until it yields a value. */
export async function poll<T>(
  check: () => T | undefined | Promise<T | undefined>,
  describe: () => string,
  timeoutMs = 5_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(describe());
    await new Promise((r) => setTimeout(r, 10));
  }
}
