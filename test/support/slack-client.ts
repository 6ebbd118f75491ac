/**
 * Sends requests to an app's Slack endpoint the way Slack does, signed exactly as Slack signs them
 * (docs/slack.md#signatures-and-replays): X-Slack-Request-Timestamp (seconds) and
 * X-Slack-Signature = 'v0=' + hex HMAC-SHA256(signing secret, `v0:${timestamp}:${raw body}`).
 * Slash commands and interactions are `application/x-www-form-urlencoded` (interactions as `payload=<json>`);
 * Events API callbacks are JSON. Every result carries the exact request that was sent so a test can replay it.
 * Options forge what an attacker or a broken clock would send: a wrong secret, an old or future timestamp, another
 * Content-Type.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';

/** Slack's form content type; Bolt compares it verbatim (a `; charset=utf-8` suffix is answered 400). */
export const FORM_CONTENT_TYPE = 'application/x-www-form-urlencoded';
const JSON_CONTENT_TYPE = 'application/json';

/** Mints trigger ids and response_urls that a fake Slack will recognise (see FakeSlack in slack-fake.ts). */
export interface SlackUrlMinter {
  issueTriggerId(userId: string): string;
  newResponseUrl(target: { userId: string; channelId: string; messageTs?: string }): string;
}

export interface SignedSlackClientOptions {
  /** Full URL of the app's endpoint, e.g. http://127.0.0.1:PORT/slack/events. */
  url: string;
  signingSecret: string;
  /** When given, default trigger ids and response_urls come from the fake so views.open / respond() work. */
  slack?: SlackUrlMinter;
  teamId?: string;
  teamDomain?: string;
  apiAppId?: string;
  /** The verification token Slack still puts in bodies (deprecated, never checked by Bolt). */
  verificationToken?: string;
  /** Milliseconds since the epoch for the signature timestamp; default Date.now. */
  now?: () => number;
}

/** Ways to forge a request. Each changes only what it names; the body is always signed unless said otherwise. */
export interface ForgeOptions {
  /** Sign with this secret instead of the right one. */
  signingSecret?: string;
  /** Use this timestamp (seconds) instead of now. */
  timestampSec?: number;
  /** Shift the timestamp by this many seconds (negative = old, positive = future). */
  timestampOffsetSec?: number;
  /** Send this Content-Type instead of the right one. */
  contentType?: string;
  /** Send no X-Slack-Signature header. */
  omitSignature?: boolean;
  /** Extra headers (e.g. X-Slack-Retry-Num). */
  headers?: Record<string, string>;
}

/** The exact bytes and headers sent; `replay()` sends them again unchanged. */
export interface SentRequest {
  url: string;
  rawBody: string;
  headers: Record<string, string>;
}

export interface SlackHttpResult {
  status: number;
  /** The response body as text. */
  body: string;
  /** The parsed body when it was JSON. */
  json?: unknown;
  request: SentRequest;
}

export interface SlashCommandInput {
  command: string;
  text: string;
  userId: string;
  userName?: string;
  channelId?: string;
  channelName?: string;
  triggerId?: string;
  responseUrl?: string;
}

export interface BlockActionInput {
  userId: string;
  actionId: string;
  value?: string;
  blockId?: string;
  /** The action's element type; default button. */
  elementType?: string;
  /** The message holding the button (approval cards). */
  message?: { ts: string; channel: string; text?: string; blocks?: unknown[] };
  /** The message is an ephemeral one (a command's answer), as Slack's container.is_ephemeral says. */
  ephemeral?: boolean;
  /** The view holding the button (modals, the Home tab). */
  view?: { id: string; callbackId?: string; privateMetadata?: string; type?: 'modal' | 'home' };
  triggerId?: string;
  responseUrl?: string;
}

/** A field value in view.state.values: a plain text input's string, or one of the select shapes, or raw Slack JSON. */
export type ViewFieldInput =
  | string
  | { selectedOption: string; text?: string }
  | { selectedOptions: string[] }
  | { selectedUser: string }
  /** Raw Slack JSON for an element the shorthand does not cover (datepicker, checkboxes, ...). */
  | { raw: Record<string, unknown> };

export interface ViewSubmissionInput {
  userId: string;
  callbackId: string;
  privateMetadata?: string;
  /** {[blockId]: {[actionId]: value}}; see ViewFieldInput. */
  values: Record<string, Record<string, ViewFieldInput>>;
  viewId?: string;
  triggerId?: string;
}

export interface SignedSlackClient {
  slashCommand(input: SlashCommandInput, forge?: ForgeOptions): Promise<SlackHttpResult>;
  blockAction(input: BlockActionInput, forge?: ForgeOptions): Promise<SlackHttpResult>;
  viewSubmission(input: ViewSubmissionInput, forge?: ForgeOptions): Promise<SlackHttpResult>;
  viewClosed(
    input: { userId: string; callbackId: string; viewId?: string; privateMetadata?: string },
    forge?: ForgeOptions,
  ): Promise<SlackHttpResult>;
  appHomeOpened(userId: string, forge?: ForgeOptions & { eventId?: string }): Promise<SlackHttpResult>;
  /** Any body, signed; for cases the helpers do not cover. */
  post(rawBody: string, contentType: string, forge?: ForgeOptions): Promise<SlackHttpResult>;
  /** Sends exactly the same bytes and headers again (same timestamp, same signature). */
  replay(request: SentRequest): Promise<SlackHttpResult>;
}

/** 'v0=' + hex HMAC-SHA256(secret, `v0:${timestamp}:${rawBody}`): Slack's request signature, version 0. */
export function slackSignature(signingSecret: string, timestampSec: number, rawBody: string): string {
  return `v0=${createHmac('sha256', signingSecret).update(`v0:${timestampSec}:${rawBody}`).digest('hex')}`;
}

export function createSignedSlackClient(options: SignedSlackClientOptions): SignedSlackClient {
  const teamId = options.teamId ?? 'T0FAKE0001';
  const teamDomain = options.teamDomain ?? 'fake-team';
  const apiAppId = options.apiAppId ?? 'A0FAKE0001';
  const verificationToken = options.verificationToken ?? 'legacy-verification-token';
  const now = options.now ?? Date.now;

  const triggerFor = (userId: string, given?: string): string =>
    given ?? options.slack?.issueTriggerId(userId) ?? `${randomDigits(13)}.${randomDigits(13)}.${randomHex(16)}`;
  const responseUrlFor = (target: { userId: string; channelId: string; messageTs?: string }, given?: string): string =>
    given ??
    options.slack?.newResponseUrl(target) ??
    `http://127.0.0.1:9/commands/${teamId}/${randomDigits(12)}/${randomHex(12)}`;
  const user = (userId: string, userName?: string) => ({
    id: userId,
    username: userName ?? userId.toLowerCase(),
    name: userName ?? userId.toLowerCase(),
    team_id: teamId,
  });
  const team = { id: teamId, domain: teamDomain };

  async function post(rawBody: string, contentType: string, forge: ForgeOptions = {}): Promise<SlackHttpResult> {
    const timestampSec = forge.timestampSec ?? Math.floor(now() / 1000) + (forge.timestampOffsetSec ?? 0);
    const headers: Record<string, string> = {
      'content-type': forge.contentType ?? contentType,
      'x-slack-request-timestamp': String(timestampSec),
      'user-agent': 'Slackbot 1.0 (+https://api.slack.com/robots)',
      ...forge.headers,
    };
    if (!forge.omitSignature) {
      headers['x-slack-signature'] = slackSignature(
        forge.signingSecret ?? options.signingSecret,
        timestampSec,
        rawBody,
      );
    }
    return send({ url: options.url, rawBody, headers });
  }

  const postPayload = (payload: object, forge?: ForgeOptions) =>
    post(new URLSearchParams({ payload: JSON.stringify(payload) }).toString(), FORM_CONTENT_TYPE, forge);

  function viewObject(
    input: { viewId?: string; callbackId: string; privateMetadata?: string; userId: string },
    values: object,
  ) {
    const id = input.viewId ?? `V${randomHex(10).toUpperCase()}`;
    return {
      id,
      team_id: teamId,
      type: 'modal',
      blocks: [],
      private_metadata: input.privateMetadata ?? '',
      callback_id: input.callbackId,
      state: { values },
      hash: `${Math.floor(now() / 1000)}.${randomHex(8)}`,
      title: { type: 'plain_text', text: 'Modal', emoji: true },
      clear_on_close: false,
      notify_on_close: false,
      close: null,
      submit: { type: 'plain_text', text: 'Submit', emoji: true },
      previous_view_id: null,
      root_view_id: id,
      app_id: apiAppId,
      external_id: '',
      app_installed_team_id: teamId,
      bot_id: 'B0FAKE0001',
    };
  }

  return {
    post,
    replay: send,

    slashCommand(input, forge) {
      const channelId = input.channelId ?? 'C0FAKEGEN1';
      // Field order and names as Slack sends a slash command (docs.slack.dev, "Implementing slash commands").
      const body = new URLSearchParams({
        token: verificationToken,
        team_id: teamId,
        team_domain: teamDomain,
        channel_id: channelId,
        channel_name: input.channelName ?? 'general',
        user_id: input.userId,
        user_name: input.userName ?? input.userId.toLowerCase(),
        command: input.command,
        text: input.text,
        api_app_id: apiAppId,
        is_enterprise_install: 'false',
        response_url: responseUrlFor({ userId: input.userId, channelId }, input.responseUrl),
        trigger_id: triggerFor(input.userId, input.triggerId),
      });
      return post(body.toString(), FORM_CONTENT_TYPE, forge);
    },

    blockAction(input, forge) {
      const actionTs = (now() / 1000).toFixed(6);
      const action = {
        action_id: input.actionId,
        block_id: input.blockId ?? `b_${randomHex(4)}`,
        text: { type: 'plain_text', text: input.actionId, emoji: true },
        value: input.value,
        type: input.elementType ?? 'button',
        action_ts: actionTs,
      };
      const base = {
        type: 'block_actions',
        user: user(input.userId),
        api_app_id: apiAppId,
        token: verificationToken,
        trigger_id: triggerFor(input.userId, input.triggerId),
        team,
        enterprise: null,
        is_enterprise_install: false,
        state: { values: {} },
        actions: [action],
      };
      if (input.message) {
        const { ts, channel } = input.message;
        return postPayload(
          {
            ...base,
            container: { type: 'message', message_ts: ts, channel_id: channel, is_ephemeral: input.ephemeral ?? false },
            channel: { id: channel, name: 'channel' },
            message: {
              type: 'message',
              subtype: 'bot_message',
              ts,
              text: input.message.text ?? '',
              blocks: input.message.blocks ?? [],
            },
            response_url: responseUrlFor(
              { userId: input.userId, channelId: channel, messageTs: ts },
              input.responseUrl,
            ),
          },
          forge,
        );
      }
      const view = input.view ?? { id: `V${randomHex(10).toUpperCase()}` };
      return postPayload(
        {
          ...base,
          container: { type: 'view', view_id: view.id },
          view: {
            ...viewObject(
              {
                viewId: view.id,
                callbackId: view.callbackId ?? '',
                privateMetadata: view.privateMetadata,
                userId: input.userId,
              },
              {},
            ),
            type: view.type ?? 'modal',
          },
          // Slack sends no response_url for actions inside views unless the test asks for one.
          ...(input.responseUrl ? { response_url: input.responseUrl } : {}),
        },
        forge,
      );
    },

    viewSubmission(input, forge) {
      return postPayload(
        {
          type: 'view_submission',
          team,
          user: user(input.userId),
          api_app_id: apiAppId,
          token: verificationToken,
          trigger_id: triggerFor(input.userId, input.triggerId),
          view: viewObject(input, stateValues(input.values)),
          response_urls: [],
          is_enterprise_install: false,
          enterprise: null,
        },
        forge,
      );
    },

    viewClosed(input, forge) {
      return postPayload(
        {
          type: 'view_closed',
          team,
          user: user(input.userId),
          api_app_id: apiAppId,
          token: verificationToken,
          view: viewObject(input, {}),
          is_cleared: false,
          is_enterprise_install: false,
          enterprise: null,
        },
        forge,
      );
    },

    appHomeOpened(userId, forge = {}) {
      const { eventId, ...forgeRest } = forge;
      const eventTime = Math.floor(now() / 1000);
      const body = {
        token: verificationToken,
        team_id: teamId,
        api_app_id: apiAppId,
        event: {
          type: 'app_home_opened',
          user: userId,
          channel: `D${userId.slice(1)}`,
          tab: 'home',
          event_ts: (now() / 1000).toFixed(6),
        },
        type: 'event_callback',
        event_id: eventId ?? `Ev${randomHex(10).toUpperCase()}`,
        event_time: eventTime,
        authorizations: [
          { enterprise_id: null, team_id: teamId, user_id: 'U0FAKEBOT1', is_bot: true, is_enterprise_install: false },
        ],
        is_ext_shared_channel: false,
      };
      return post(JSON.stringify(body), JSON_CONTENT_TYPE, forgeRest);
    },
  };
}

/** Turns the test's shorthand into view.state.values exactly as Slack sends them. */
function stateValues(values: Record<string, Record<string, ViewFieldInput>>): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [blockId, actions] of Object.entries(values)) {
    const block: Record<string, unknown> = {};
    for (const [actionId, value] of Object.entries(actions)) block[actionId] = stateValue(value);
    out[blockId] = block;
  }
  return out;
}

function stateValue(value: ViewFieldInput): unknown {
  const option = (v: string, text?: string) => ({
    text: { type: 'plain_text', text: text ?? v, emoji: true },
    value: v,
  });
  if (typeof value === 'string') return { type: 'plain_text_input', value };
  if ('selectedOption' in value)
    return { type: 'static_select', selected_option: option(value.selectedOption, value.text) };
  if ('selectedOptions' in value)
    return { type: 'multi_static_select', selected_options: value.selectedOptions.map((v) => option(v)) };
  if ('selectedUser' in value) return { type: 'users_select', selected_user: value.selectedUser };
  return value.raw;
}

function send(sent: SentRequest): Promise<SlackHttpResult> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      sent.url,
      // agent:false: one connection per request, so a test's server can close without waiting on keep-alive sockets.
      {
        method: 'POST',
        headers: { ...sent.headers, 'content-length': String(Buffer.byteLength(sent.rawBody)) },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('error', reject);
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString('utf8');
          resolve({ status: res.statusCode ?? 0, body, json: parseJson(body), request: sent });
        });
      },
    );
    req.on('error', reject);
    req.end(sent.rawBody);
  });
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function randomHex(bytes: number): string {
  return randomBytes(bytes).toString('hex');
}

function randomDigits(count: number): string {
  let out = '';
  while (out.length < count) out += String(randomBytes(4).readUInt32BE(0));
  return out.slice(0, count);
}
