/**
 * Self-tests of the Slack harness: a REAL Bolt app in HTTP mode, fed by the signed client and talking to the fake
 * Web API, proves that both halves speak Slack as Bolt understands it.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { App, LogLevel, webApi } from '@slack/bolt';
import { startFakeSlack, visibleText, type FakeSlack } from './slack-fake.js';
import { createSignedSlackClient, FORM_CONTENT_TYPE, slackSignature, type SignedSlackClient } from './slack-client.js';

const SIGNING_SECRET = 'harness-signing-secret-0123456789';

interface Harness {
  fake: FakeSlack;
  app: App;
  slack: SignedSlackClient;
  stop(): Promise<void>;
}

/** A Bolt HTTP app on a free loopback port whose WebClient talks to the fake; `register` adds the listeners. */
async function startHarness(
  register: (app: App) => void,
  fakeOptions?: Parameters<typeof startFakeSlack>[0],
): Promise<Harness> {
  const fake = await startFakeSlack(fakeOptions);
  const app = new App({
    token: fake.token,
    signingSecret: SIGNING_SECRET,
    logLevel: LogLevel.ERROR,
    // No WebClient retries: a failure test must see the fake's answer at once (docs/slack.md#web-api-client).
    clientOptions: { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } },
  });
  register(app);
  const server = (await app.start({ port: 0, host: '127.0.0.1' })) as Server;
  const { port } = server.address() as AddressInfo;
  const slack = createSignedSlackClient({
    url: `http://127.0.0.1:${port}/slack/events`,
    signingSecret: SIGNING_SECRET,
    slack: fake,
  });
  return {
    fake,
    app,
    slack,
    async stop() {
      await app.stop();
      await fake.close();
    },
  };
}

describe('slack harness with a real Bolt HTTP app', () => {
  let h: Harness | undefined;
  afterEach(async () => {
    await h?.stop();
    h = undefined;
  });

  it("delivers a signed slash command to the handler, and the handler's postMessage lands in the fake", async () => {
    const seen: string[] = [];
    h = await startHarness((app) => {
      app.command('/account', async ({ command, ack, client }) => {
        await ack();
        seen.push(command.text);
        await client.chat.postMessage({
          channel: 'C0APPROVAL',
          text: `request from <@${command.user_id}>: ${command.text}`,
        });
      });
    });
    const result = await h.slack.slashCommand({
      command: '/account',
      text: 'quota cloud alice 50GB',
      userId: 'U0ALICE',
    });
    expect(result.status).toBe(200);
    expect(seen).toEqual(['quota cloud alice 50GB']);
    const [message] = await h.fake.waitFor(() =>
      h!.fake.messagesIn('C0APPROVAL').length > 0 ? h!.fake.messagesIn('C0APPROVAL') : undefined,
    );
    expect(message?.text).toBe('request from <@U0ALICE>: quota cloud alice 50GB');
    const [call] = h.fake.calls('chat.postMessage');
    expect(call?.args).toMatchObject({ channel: 'C0APPROVAL' });
    expect(call?.args).not.toHaveProperty('token');
  });

  it(
    'gets 401 for a wrong secret, a missing signature or a stale timestamp, ' + 'and 400 for a charset suffix',
    async () => {
      let runs = 0;
      h = await startHarness((app) => {
        app.command('/account', async ({ ack }) => {
          runs += 1;
          await ack();
        });
      });
      const input = { command: '/account', text: 'x', userId: 'U0ALICE' };
      expect((await h.slack.slashCommand(input, { signingSecret: 'not-the-secret' })).status).toBe(401);
      expect((await h.slack.slashCommand(input, { omitSignature: true })).status).toBe(401);
      expect((await h.slack.slashCommand(input, { timestampOffsetSec: -6 * 60 })).status).toBe(401);
      // Bolt compares the Content-Type verbatim (docs/slack.md#signatures-and-replays).
      expect((await h.slack.slashCommand(input, { contentType: `${FORM_CONTENT_TYPE}; charset=utf-8` })).status).toBe(
        400,
      );
      expect(runs).toBe(0);
      expect((await h.slack.slashCommand(input)).status).toBe(200);
      expect(runs).toBe(1);
    },
  );

  it('signs exactly as Slack documents (v0 HMAC-SHA256 over v0:ts:body)', () => {
    // Slack's published example (docs.slack.dev, "Verifying requests from Slack").
    const body =
      'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow' +
      '&channel_id=G8PSS9T3V&channel_name=foobar' +
      '&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=' +
      '&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN' +
      '&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
    expect(slackSignature('8f742231b10e8888abcd99yyyzzz85a5', 1531420618, body)).toBe(
      'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503',
    );
  });

  it('delivers view submission values in the shape Bolt listeners read, and passes inline errors back', async () => {
    const received: unknown[] = [];
    h = await startHarness((app) => {
      app.view('account_request', async ({ ack, view, body }) => {
        const values = view.state.values;
        received.push({
          user: body.user.id,
          metadata: view.private_metadata,
          username: values.username_block?.username?.value,
          backend: values.backend_block?.backend?.selected_option?.value,
          approvers: values.approvers_block?.approvers?.selected_options?.map((o) => o.value),
        });
        await ack({ response_action: 'errors', errors: { username_block: 'Already taken' } });
      });
    });
    const result = await h.slack.viewSubmission({
      userId: 'U0ALICE',
      callbackId: 'account_request',
      privateMetadata: '{"requestId":"r1"}',
      values: {
        username_block: { username: 'alice' },
        backend_block: { backend: { selectedOption: 'cloud' } },
        approvers_block: { approvers: { selectedOptions: ['U0BOB', 'U0CAROL'] } },
      },
    });
    expect(received).toEqual([
      {
        user: 'U0ALICE',
        metadata: '{"requestId":"r1"}',
        username: 'alice',
        backend: 'cloud',
        approvers: ['U0BOB', 'U0CAROL'],
      },
    ]);
    expect(result.status).toBe(200);
    expect(result.json).toEqual({ response_action: 'errors', errors: { username_block: 'Already taken' } });
  });

  it('records what respond() posts to the response_url, and shows it to the requester as an ephemeral', async () => {
    h = await startHarness((app) => {
      app.command('/account', async ({ ack, respond }) => {
        await ack();
        await respond({ text: 'Request r1 received' });
      });
    });
    const responseUrl = h.fake.newResponseUrl({ userId: 'U0ALICE', channelId: 'C0GENERAL' });
    await h.slack.slashCommand({
      command: '/account',
      text: '',
      userId: 'U0ALICE',
      channelId: 'C0GENERAL',
      responseUrl,
    });
    await h.fake.waitFor(() => h!.fake.responsesAt(responseUrl).length > 0);
    expect(h.fake.responsesAt(responseUrl).map((r) => r.body)).toEqual([{ text: 'Request r1 received' }]);
    expect(h.fake.ephemeralsFor('U0ALICE')).toEqual([
      { channel: 'C0GENERAL', user: 'U0ALICE', text: 'Request r1 received', blocks: [], via: 'response_url' },
    ]);
  });

  it('lets a button press replace the card through respond({replace_original}) and chat.update', async () => {
    h = await startHarness((app) => {
      app.action('approve', async ({ ack, respond, body, client }) => {
        await ack();
        if (body.type !== 'block_actions' || !body.message || !body.channel) return;
        await client.chat.update({
          channel: body.channel.id,
          ts: body.message.ts,
          text: 'Approved (updating)',
          blocks: [],
        });
        await respond({ replace_original: true, text: `Approved by <@${body.user.id}>` });
      });
    });
    const posted = await new webApi.WebClient(h.fake.token, { slackApiUrl: h.fake.apiUrl }).chat.postMessage({
      channel: 'C0APPROVAL',
      text: 'Request r1',
      blocks: [
        {
          type: 'actions',
          elements: [
            { type: 'button', action_id: 'approve', text: { type: 'plain_text', text: 'Approve' }, value: 'r1' },
          ],
        },
      ],
    });
    const result = await h.slack.blockAction({
      userId: 'U0BOB',
      actionId: 'approve',
      value: 'r1',
      message: { ts: posted.ts!, channel: 'C0APPROVAL' },
    });
    expect(result.status).toBe(200);
    const [card] = await h.fake.waitFor(() => {
      const messages = h!.fake.messagesIn('C0APPROVAL');
      return messages[0]?.edits === 2 ? messages : undefined;
    });
    expect(card).toMatchObject({ text: 'Approved by <@U0BOB>', blocks: [] });
  });

  it("opens a modal with the command's trigger_id once; a second use and an expired trigger are refused", async () => {
    let clock = 1_700_000_000_000;
    const errors: string[] = [];
    const modal = {
      type: 'modal' as const,
      callback_id: 'account_request',
      title: { type: 'plain_text' as const, text: 'Account request' },
      blocks: [],
    };
    h = await startHarness(
      (app) => {
        app.command('/account', async ({ ack, body, client }) => {
          await ack();
          for (let attempt = 0; attempt < 2; attempt += 1) {
            try {
              await client.views.open({ trigger_id: body.trigger_id, view: modal });
            } catch (error) {
              errors.push((error as { data?: { error?: string } }).data?.error ?? 'unknown');
            }
          }
        });
      },
      { now: () => clock },
    );
    await h.slack.slashCommand({ command: '/account', text: '', userId: 'U0ALICE' });
    await h.fake.waitFor(() => errors.length === 1);
    expect(h.fake.viewsOpenedFor('U0ALICE').map((v) => v.view.callback_id)).toEqual(['account_request']);
    expect(errors).toEqual(['exchanged_trigger_id']);

    const stale = h.fake.issueTriggerId('U0ALICE');
    clock += 3001;
    const client = new webApi.WebClient(h.fake.token, { slackApiUrl: h.fake.apiUrl, retryConfig: { retries: 0 } });
    await expect(client.views.open({ trigger_id: stale, view: modal })).rejects.toMatchObject({
      data: { error: 'expired_trigger_id' },
    });
  });

  it('publishes the Home tab on app_home_opened', async () => {
    h = await startHarness((app) => {
      app.event('app_home_opened', async ({ event, client }) => {
        await client.views.publish({
          user_id: event.user,
          view: { type: 'home', blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'Your requests: none' } }] },
        });
      });
    });
    const result = await h.slack.appHomeOpened('U0ALICE');
    expect(result.status).toBe(200);
    const home = await h.fake.waitFor(() => h!.fake.homeViewFor('U0ALICE'));
    expect(visibleText(home as { blocks: unknown[] })).toBe('Your requests: none');
  });

  it(
    'makes the WebClient see the injected failure: ' + 'ok:false, HTTP 500, 429 with Retry-After, then recovery',
    async () => {
      const outcomes: string[] = [];
      h = await startHarness((app) => {
        app.command('/account', async ({ ack, client }) => {
          await ack();
          try {
            await client.chat.postMessage({ channel: 'C0APPROVAL', text: 'card' });
            outcomes.push('posted');
          } catch (error) {
            const e = error as { code?: string; data?: { error?: string }; statusCode?: number };
            outcomes.push(`${e.code}:${e.data?.error ?? e.statusCode ?? ''}`);
          }
        });
      });
      h.fake.failNext('chat.postMessage', { error: 'channel_not_found' });
      h.fake.failNext('chat.postMessage', { error: 'channel_not_found' }); // replaces, does not stack
      await h.slack.slashCommand({ command: '/account', text: '', userId: 'U0ALICE' });
      await h.fake.waitFor(() => outcomes.length === 1);
      h.fake.failNext('chat.postMessage', { status: 500 });
      await h.slack.slashCommand({ command: '/account', text: '', userId: 'U0ALICE' });
      await h.fake.waitFor(() => outcomes.length === 2);
      await h.slack.slashCommand({ command: '/account', text: '', userId: 'U0ALICE' });
      await h.fake.waitFor(() => outcomes.length === 3);
      expect(outcomes).toEqual([
        'slack_webapi_platform_error:channel_not_found',
        'slack_webapi_http_error:500',
        'posted',
      ]);
      expect(h.fake.messagesIn('C0APPROVAL').map((m) => m.text)).toEqual(['card']);

      // A 429: a client that does not wait (rejectRateLimitedCalls) sees Slack's Retry-After.
      h.fake.failNext('chat.postMessage', { retryAfter: 7, count: 2 });
      const client = new webApi.WebClient(h.fake.token, {
        slackApiUrl: h.fake.apiUrl,
        rejectRateLimitedCalls: true,
        retryConfig: { retries: 0 },
      });
      for (let i = 0; i < 2; i += 1) {
        await expect(client.chat.postMessage({ channel: 'C0APPROVAL', text: 'x' })).rejects.toMatchObject({
          code: 'slack_webapi_rate_limited_error',
          retryAfter: 7,
        });
      }
      await expect(client.chat.postMessage({ channel: 'C0APPROVAL', text: 'x' })).resolves.toMatchObject({ ok: true });
    },
  );
});

describe('fake Slack Web API on its own', () => {
  let fake: FakeSlack;
  let client: InstanceType<typeof webApi.WebClient>;
  beforeEach(async () => {
    fake = await startFakeSlack({
      users: [{ id: 'U0ALICE', name: 'alice', realName: 'Alice Martin', email: 'alice@example.com' }],
      usergroups: { S0ADMINS: ['U0BOB', 'U0CAROL'] },
    });
    client = new webApi.WebClient(fake.token, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
  });
  afterEach(async () => {
    await fake.close();
  });

  it('answers invalid_auth to a wrong token and not_authed to none', async () => {
    const wrong = new webApi.WebClient('xoxb-wrong', { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    await expect(wrong.auth.test()).rejects.toMatchObject({ data: { error: 'invalid_auth' } });
    const none = new webApi.WebClient(undefined, { slackApiUrl: fake.apiUrl, retryConfig: { retries: 0 } });
    await expect(none.auth.test()).rejects.toMatchObject({ data: { error: 'not_authed' } });
    // A per-call token (sent as Authorization and as the token field) is accepted.
    await expect(none.auth.test({ token: fake.token })).resolves.toMatchObject({ ok: true, user_id: fake.botUserId });
  });

  it('opens a DM per user, posts there, and updates messages in place', async () => {
    const opened = await client.conversations.open({ users: 'U0ALICE' });
    expect(opened.channel?.id).toBe(fake.dmChannelFor('U0ALICE'));
    await client.chat.postMessage({ channel: opened.channel!.id!, text: 'Your request r1 was approved' });
    await client.chat.postMessage({ channel: 'U0ALICE', text: 'And applied' });
    expect(fake.dmsTo('U0ALICE').map((m) => m.text)).toEqual(['Your request r1 was approved', 'And applied']);

    const posted = await client.chat.postMessage({
      channel: 'C0AUDIT',
      text: 'requested',
      blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'requested' } }],
    });
    await client.chat.update({ channel: 'C0AUDIT', ts: posted.ts!, text: 'approved' });
    expect(fake.messagesIn('C0AUDIT')).toEqual([
      {
        channel: 'C0AUDIT',
        ts: posted.ts,
        text: 'approved',
        blocks: [{ type: 'section', text: { type: 'mrkdwn', text: 'requested' } }],
        edits: 1,
      },
    ]);
    await expect(client.chat.update({ channel: 'C0AUDIT', ts: '1.000001', text: 'x' })).rejects.toMatchObject({
      data: { error: 'message_not_found' },
    });
    const link = await client.chat.getPermalink({ channel: 'C0AUDIT', message_ts: posted.ts! });
    expect(link.permalink).toContain('/archives/C0AUDIT/p');
  });

  it('serves users.info and usergroups.users.list from seeds', async () => {
    const info = await client.users.info({ user: 'U0ALICE' });
    expect(info.user).toMatchObject({
      id: 'U0ALICE',
      name: 'alice',
      real_name: 'Alice Martin',
      profile: { email: 'alice@example.com' },
    });
    await expect(client.users.info({ user: 'U0NOBODY' })).rejects.toMatchObject({ data: { error: 'user_not_found' } });
    expect((await client.usergroups.users.list({ usergroup: 'S0ADMINS' })).users).toEqual(['U0BOB', 'U0CAROL']);
    fake.seedUsergroup('S0EMPTY', []);
    expect((await client.usergroups.users.list({ usergroup: 'S0EMPTY' })).users).toEqual([]);
    await expect(client.usergroups.users.list({ usergroup: 'S0NONE' })).rejects.toMatchObject({
      data: { error: 'no_such_subteam' },
    });
  });

  it("refuses messages and views that break Slack's limits, saying where", async () => {
    const section = (text: string) => ({ type: 'section', text: { type: 'mrkdwn', text } });
    await expect(
      client.chat.postMessage({ channel: 'C1', text: 't', blocks: Array.from({ length: 51 }, () => section('x')) }),
    ).rejects.toMatchObject({
      data: { error: 'invalid_blocks' },
    });
    await expect(
      client.chat.postMessage({ channel: 'C1', text: 't', blocks: Array.from({ length: 50 }, () => section('x')) }),
    ).resolves.toMatchObject({ ok: true });
    await expect(
      client.chat.postMessage({ channel: 'C1', text: 't', blocks: [section('x'.repeat(3001))] }),
    ).rejects.toMatchObject({
      data: {
        error: 'invalid_blocks',
        errors: ['must be less than 3001 characters [json-pointer:/blocks/0/text/text]'],
      },
    });
    await expect(
      client.chat.postMessage({
        channel: 'C1',
        text: 't',
        blocks: [{ type: 'header', text: { type: 'plain_text', text: 'h'.repeat(151) } }],
      }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    await expect(
      client.chat.postMessage({
        channel: 'C1',
        text: 't',
        blocks: [
          {
            type: 'actions',
            elements: [
              { type: 'button', action_id: 'a', text: { type: 'plain_text', text: 'b' }, value: 'v'.repeat(2001) },
            ],
          },
        ],
      }),
    ).rejects.toMatchObject({ data: { error: 'invalid_blocks' } });
    const title = (text: string) => ({
      type: 'modal' as const,
      title: { type: 'plain_text' as const, text },
      blocks: [],
    });
    await expect(
      client.views.open({ trigger_id: fake.issueTriggerId('U1'), view: title('t'.repeat(25)) }),
    ).rejects.toMatchObject({
      data: {
        error: 'invalid_arguments',
        response_metadata: { messages: ['[ERROR] must be less than 25 characters [json-pointer:/view/title/text]'] },
      },
    });
    await expect(
      client.views.open({ trigger_id: fake.issueTriggerId('U1'), view: title('t'.repeat(24)) }),
    ).resolves.toMatchObject({ ok: true });
    await expect(
      client.views.publish({
        user_id: 'U1',
        view: { type: 'home', blocks: Array.from({ length: 101 }, () => section('x')) },
      }),
    ).rejects.toMatchObject({ data: { error: 'invalid_arguments' } });
    expect(fake.messagesIn('C1')).toHaveLength(1);
  });

  it('keeps a modal stack of at most 3 and applies views.update with hash checks', async () => {
    const modal = (text: string) => ({
      type: 'modal' as const,
      title: { type: 'plain_text' as const, text },
      blocks: [],
    });
    const opened = await client.views.open({ trigger_id: fake.issueTriggerId('U1'), view: modal('one') });
    await client.views.push({ trigger_id: fake.issueTriggerId('U1'), view: modal('two') });
    await client.views.push({ trigger_id: fake.issueTriggerId('U1'), view: modal('three') });
    await expect(
      client.views.push({ trigger_id: fake.issueTriggerId('U1'), view: modal('four') }),
    ).rejects.toMatchObject({
      data: { error: 'push_limit_reached' },
    });
    await expect(
      client.views.update({ view_id: opened.view!.id!, hash: 'stale', view: modal('x') }),
    ).rejects.toMatchObject({
      data: { error: 'hash_conflict' },
    });
    await client.views.update({ view_id: opened.view!.id!, hash: opened.view!.hash!, view: modal('one, updated') });
    expect(fake.viewsOpenedFor('U1').map((v) => (v.view.title as { text: string }).text)).toEqual([
      'one, updated',
      'two',
      'three',
    ]);
    await expect(client.views.open({ trigger_id: 'made-up', view: modal('x') })).rejects.toMatchObject({
      data: { error: 'invalid_trigger_id' },
    });
  });

  it('records every call with decoded arguments, and the response_url stops after five posts', async () => {
    await client.chat.postEphemeral({
      channel: 'C1',
      user: 'U0ALICE',
      text: 'only you',
      blocks: [{ type: 'divider' }],
    });
    expect(fake.calls('chat.postEphemeral')).toEqual([
      {
        method: 'chat.postEphemeral',
        args: { channel: 'C1', user: 'U0ALICE', text: 'only you', blocks: [{ type: 'divider' }] },
        outcome: { ok: true },
      },
    ]);
    expect(fake.ephemeralsFor('U0ALICE')).toHaveLength(1);
    await expect(client.apiCall('no.such.method')).rejects.toMatchObject({ data: { error: 'unknown_method' } });

    const url = fake.newResponseUrl({ userId: 'U0ALICE', channelId: 'C1' });
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ text: `n${i}` }),
      });
      statuses.push(res.status);
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 404]);
    expect(fake.responsesAt(url)).toHaveLength(5);
    fake.failNext('response_url', { status: 500 });
    const other = fake.newResponseUrl({ userId: 'U0ALICE', channelId: 'C1' });
    expect((await fetch(other, { method: 'POST', body: '{}' })).status).toBe(500);
  });

  it('renders visible text the way a reader sees the card', () => {
    expect(
      visibleText({
        text: 'fallback',
        blocks: [
          { type: 'header', text: { type: 'plain_text', text: 'Quota change' } },
          {
            type: 'section',
            fields: [
              { type: 'mrkdwn', text: '*Now* 10 GB' },
              { type: 'mrkdwn', text: '*Asked* 50 GB' },
            ],
          },
          { type: 'context', elements: [{ type: 'mrkdwn', text: 'by <@U0ALICE>' }] },
          { type: 'actions', elements: [{ type: 'button', text: { type: 'plain_text', text: 'Approve' } }] },
        ],
      }),
    ).toBe('fallback\nQuota change\n*Now* 10 GB\n*Asked* 50 GB\nby <@U0ALICE>\nApprove');
  });
});
