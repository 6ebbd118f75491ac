/**
 * A fake Slack Web API on 127.0.0.1, reached by Bolt through `clientOptions: { slackApiUrl: fake.apiUrl }`.
 *
 * It parses requests exactly as @slack/web-api 8 sends them (node_modules/@slack/web-api/dist/WebClient.js:
 * POST, `application/x-www-form-urlencoded`, every non-scalar argument such as `blocks` or `view` JSON-encoded as a
 * string, the token in `Authorization: Bearer ...` and, when passed per call, also in the `token` field), and also
 * accepts JSON bodies. It answers like Slack: HTTP 200 with {ok:true,...} or {ok:false,error}, 429 + Retry-After.
 * It keeps what a user would see (channel messages after updates, ephemerals, DMs, modals, Home tabs, what was
 * posted to each response_url) and enforces the Block Kit limits of docs/slack.md#limits, so a
 * test fails when the app breaks one.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { parse as parseQuery } from 'node:querystring';
import { randomBytes } from 'node:crypto';

export interface FakeSlackUser {
  id: string;
  name?: string;
  realName?: string;
  email?: string;
  isAdmin?: boolean;
  isBot?: boolean;
  deleted?: boolean;
  tz?: string;
}

export interface FakeSlackOptions {
  /** The bot token the app must present; anything else is answered invalid_auth. */
  token?: string;
  /**
   * The app-level token (xapp-...) Socket Mode presents to apps.connections.open; that method takes no other
   * token, and no other method takes this one (Slack answers not_allowed_token_type).
   */
  appToken?: string;
  /** The ws:// URL apps.connections.open hands out (see setSocketModeUrl). */
  socketModeUrl?: string;
  teamId?: string;
  botUserId?: string;
  botId?: string;
  users?: FakeSlackUser[];
  /** Seeded user groups: usergroup id -> member user ids (usergroups.users.list). */
  usergroups?: Record<string, string[]>;
  /** Milliseconds since the epoch; tests inject a clock to expire trigger ids without waiting. */
  now?: () => number;
  /** Scopes granted to the bot token, sent as x-oauth-scopes on every answer. Default: manifest/*.yaml's. */
  scopes?: string[];
}

export interface Fault {
  /** ok:false answer with this error code (default 'internal_error' when neither status nor retryAfter is set). */
  error?: string;
  /** Answer with this HTTP status (e.g. 500, 503) and a plain-text body. */
  status?: number;
  /** Answer 429 with this Retry-After (seconds), as Slack rate limits do. */
  retryAfter?: number;
  /** How many consecutive calls the fault applies to (default 1). */
  count?: number;
}

export interface RecordedCall {
  method: string;
  /** The decoded arguments (blocks/view parsed back into objects); the token is removed. */
  args: Record<string, unknown>;
  /** What the fake answered: ok, or the error code / HTTP status of an injected fault. */
  outcome: { ok: true } | { ok: false; error?: string; status: number };
}

export interface FakeMessage {
  channel: string;
  ts: string;
  text: string;
  blocks: unknown[];
  threadTs?: string;
  /** How many times chat.update (or a response_url replace) changed it. */
  edits: number;
}

export interface FakeEphemeral {
  channel: string;
  user: string;
  text: string;
  blocks: unknown[];
  /** 'chat.postEphemeral' or 'response_url'. */
  via: string;
}

export interface FakeView {
  id: string;
  user: string;
  /** The view as last set (views.open / push / update / publish). */
  view: Record<string, unknown>;
  hash: string;
  via: 'views.open' | 'views.push' | 'views.publish';
  rootViewId: string;
}

export interface RecordedResponse {
  url: string;
  body: Record<string, unknown>;
}

/** A file in the fake workspace: one a test gave a person to attach, or one the app uploaded. */
export interface FakeFile {
  id: string;
  name: string;
  content: string;
  title?: string;
  /** Where files.completeUploadExternal shared it. */
  channel?: string;
  threadTs?: string;
}

export interface FakeSlack {
  /** Base URL for the WebClient: ends with '/api/'. */
  readonly apiUrl: string;
  readonly token: string;
  readonly appToken: string;
  readonly teamId: string;
  readonly botUserId: string;
  calls(method?: string): RecordedCall[];
  /** Current messages of a channel in posting order, as a member sees them after every update. */
  messagesIn(channel: string): FakeMessage[];
  /** The DM channel id the fake uses for a user (conversations.open and chat.postMessage to a user id land here). */
  dmChannelFor(userId: string): string;
  dmsTo(userId: string): FakeMessage[];
  ephemeralsFor(userId: string): FakeEphemeral[];
  /** Modals opened or pushed for a user, oldest first, each in its latest state. */
  viewsOpenedFor(userId: string): FakeView[];
  /** The Home tab last published for a user. */
  homeViewFor(userId: string): Record<string, unknown> | undefined;
  /** A trigger id for a user, valid 3 s and usable once (docs/slack.md#modals-and-trigger-ids). */
  issueTriggerId(userId: string): string;
  /** A fresh response_url; what the app posts there is recorded, and replace_original edits the message. */
  newResponseUrl(target: { userId: string; channelId: string; messageTs?: string }): string;
  responsesAt(responseUrl: string): RecordedResponse[];
  seedUser(user: FakeSlackUser): void;
  /** Where apps.connections.open sends Socket Mode clients (a fake Socket Mode server's url). */
  setSocketModeUrl(url: string): void;
  seedUsergroup(groupId: string, userIds: string[]): void;
  /** Replaces the scopes granted to the bot token (x-oauth-scopes). */
  setScopes(scopes: string[]): void;
  /** Removes the bot from a channel: conversations.info answers is_member false for it. */
  removeBotFrom(channel: string): void;
  /** Makes the next `count` calls of `method` fail ('response_url' targets the response_url endpoint). */
  failNext(method: string, fault?: Fault): void;
  /**
   * A file a person uploaded (e.g. through a modal's file_input): files.info describes it and its url_private
   * serves `content` to the bot token only.
   */
  seedFile(name: string, content: string): FakeFile;
  /** Files the app uploaded (files.getUploadURLExternal, the upload, files.completeUploadExternal). */
  uploadedFiles(): FakeFile[];
  /** Polls `predicate` until it returns a truthy value (returned) or throws after timeoutMs. */
  waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs?: number): Promise<T>;
  close(): Promise<void>;
}

// Limits from docs/slack.md#limits.
const MAX_BLOCKS_PER_MESSAGE = 50;
const MAX_BLOCKS_PER_VIEW = 100;
const MAX_SECTION_TEXT = 3000;
const MAX_SECTION_FIELD_TEXT = 2000;
const MAX_HEADER_TEXT = 150;
const MAX_ID_LENGTH = 255;
const MAX_BUTTON_VALUE = 2000;
const MAX_CONFIRM_TEXT = 300;
const MAX_MODAL_TITLE = 24;
const MAX_PRIVATE_METADATA = 3000;
const MAX_OPTIONS = 100;
const MAX_MESSAGE_TEXT = 40_000;
/** A modal stack holds at most 3 views. */
const MAX_VIEW_STACK = 3;
const TRIGGER_TTL_MS = 3000;
/** A response_url accepts five posts within 30 minutes (docs.slack.dev, "Handling user interaction"). */
const RESPONSE_URL_USES = 5;
const RESPONSE_URL_TTL_MS = 30 * 60 * 1000;

/** Arguments @slack/web-api JSON-encodes into form strings (any non-scalar value); decoded back for inspection. */
const JSON_ARGS = new Set(['blocks', 'attachments', 'view', 'metadata', 'unfurls', 'user_auth_blocks', 'files']);

class SlackApiError extends Error {
  constructor(
    readonly error: string,
    readonly details: string[] = [],
  ) {
    super(error);
  }
}

export async function startFakeSlack(options: FakeSlackOptions = {}): Promise<FakeSlack> {
  const token = options.token ?? 'xoxb-fake-bot-token';
  const appToken = options.appToken ?? 'xapp-1-fake-app-token';
  let socketModeUrl = options.socketModeUrl;
  const teamId = options.teamId ?? 'T0FAKE0001';
  const botUserId = options.botUserId ?? 'U0FAKEBOT1';
  const botId = options.botId ?? 'B0FAKE0001';
  const now = options.now ?? Date.now;

  const calls: RecordedCall[] = [];
  const channels = new Map<string, FakeMessage[]>();
  const ephemerals: FakeEphemeral[] = [];
  const views = new Map<string, FakeView>();
  const homeViews = new Map<string, Record<string, unknown>>();
  const triggers = new Map<string, { user: string; issuedAt: number; used: boolean }>();
  const responseUrls = new Map<
    string,
    { target: { userId: string; channelId: string; messageTs?: string }; issuedAt: number; posts: RecordedResponse[] }
  >();
  const users = new Map<string, FakeSlackUser>((options.users ?? []).map((u) => [u.id, u]));
  const usergroups = new Map<string, string[]>(Object.entries(options.usergroups ?? {}));
  const faults = new Map<string, Required<Pick<Fault, 'count'>> & Fault>();
  let scopes = options.scopes ?? [
    'commands',
    'chat:write',
    'im:write',
    'usergroups:read',
    'users:read',
    'channels:read',
    'groups:read',
    'files:read',
    'files:write',
  ];
  const channelsWithoutBot = new Set<string>();
  const files = new Map<string, FakeFile & { uploaded: boolean; shared: boolean }>();
  let tsCounter = 0;
  let idCounter = 0;

  const dmChannelFor = (userId: string) => `D${userId.replace(/^[UW]/, '')}`;
  const nextTs = () => `${Math.floor(now() / 1000)}.${String(++tsCounter).padStart(6, '0')}`;
  const nextId = (prefix: string) =>
    `${prefix}${String(++idCounter).padStart(6, '0')}${randomBytes(2).toString('hex').toUpperCase()}`;
  const newHash = () => `${Math.floor(now() / 1000)}.${randomBytes(4).toString('hex')}`;

  /** chat.postMessage to a user id posts in the app's DM with that user, as Slack does. */
  const resolveChannel = (channel: string) => (/^[UW][A-Z0-9]+$/.test(channel) ? dmChannelFor(channel) : channel);
  const messagesOf = (channel: string) => {
    let list = channels.get(channel);
    if (!list) channels.set(channel, (list = []));
    return list;
  };
  const findMessage = (channel: string, ts: string) => channels.get(resolveChannel(channel))?.find((m) => m.ts === ts);

  const consumeTrigger = (triggerId: unknown): string => {
    if (typeof triggerId !== 'string' || triggerId.length === 0)
      throw new SlackApiError('invalid_arguments', ['trigger_id is required']);
    const trigger = triggers.get(triggerId);
    if (!trigger) throw new SlackApiError('invalid_trigger_id');
    if (trigger.used) throw new SlackApiError('exchanged_trigger_id');
    if (now() - trigger.issuedAt > TRIGGER_TTL_MS) throw new SlackApiError('expired_trigger_id');
    trigger.used = true;
    return trigger.user;
  };

  const methods: Record<string, (args: Record<string, unknown>) => Record<string, unknown>> = {
    'auth.test': () => ({
      url: 'https://fake-team.slack.test/',
      team: 'Fake Team',
      user: 'accountdesk',
      team_id: teamId,
      user_id: botUserId,
      bot_id: botId,
      is_enterprise_install: false,
    }),

    'apps.connections.open': () => {
      // No URL is a broken test, not something Slack answers. Crash loudly (HTTP 500): Socket Mode gives up on an
      // HTTP error, whereas an ok:false it does not know would make it retry forever and hang app.start().
      if (socketModeUrl === undefined) throw new Error('apps.connections.open was called before setSocketModeUrl()');
      return { url: socketModeUrl };
    },

    'chat.postMessage': (args) => {
      const channel = requireString(args, 'channel', 'channel_not_found');
      const { text, blocks } = messageContent(args);
      const message: FakeMessage = { channel: resolveChannel(channel), ts: nextTs(), text, blocks, edits: 0 };
      if (typeof args.thread_ts === 'string') message.threadTs = args.thread_ts;
      messagesOf(message.channel).push(message);
      return {
        channel: message.channel,
        ts: message.ts,
        message: { type: 'message', text, blocks, ts: message.ts, bot_id: botId, user: botUserId },
      };
    },

    'chat.update': (args) => {
      const channel = requireString(args, 'channel', 'channel_not_found');
      const ts = requireString(args, 'ts', 'message_not_found');
      const message = findMessage(channel, ts);
      if (!message) throw new SlackApiError('message_not_found');
      const { text, blocks } = messageContent(args, { allowEmpty: true });
      // chat.update keeps the previous blocks when `blocks` is not sent; an empty array removes them.
      message.text = text;
      if (args.blocks !== undefined) message.blocks = blocks;
      message.edits += 1;
      return {
        channel: message.channel,
        ts: message.ts,
        text: message.text,
        message: { text: message.text, blocks: message.blocks },
      };
    },

    'chat.postEphemeral': (args) => {
      const channel = requireString(args, 'channel', 'channel_not_found');
      const user = requireString(args, 'user', 'user_not_found');
      const { text, blocks } = messageContent(args);
      ephemerals.push({ channel: resolveChannel(channel), user, text, blocks, via: 'chat.postEphemeral' });
      return { message_ts: nextTs() };
    },

    // docs.slack.dev/reference/methods/files.info: url_private needs the token in an Authorization header.
    'files.info': (args) => {
      const file = files.get(requireString(args, 'file', 'file_not_found'));
      if (!file) throw new SlackApiError('file_not_found');
      const url = `${baseUrl}/files-pri/${file.id}/${encodeURIComponent(file.name)}`;
      return {
        file: {
          id: file.id,
          name: file.name,
          size: Buffer.byteLength(file.content),
          url_private: url,
          url_private_download: `${url}?download=1`,
        },
      };
    },

    // docs.slack.dev/reference/methods/files.getUploadURLExternal: filename and length (bytes) are required.
    'files.getUploadURLExternal': (args) => {
      const name = requireString(args, 'filename', 'invalid_arguments');
      if (!/^\d+$/.test(typeof args.length === 'string' || typeof args.length === 'number' ? String(args.length) : ''))
        throw new SlackApiError('invalid_arguments', ['length is required']);
      const id = nextId('F');
      files.set(id, { id, name, content: '', uploaded: false, shared: false });
      return { upload_url: `${baseUrl}/upload/${id}`, file_id: id };
    },

    // docs.slack.dev/reference/methods/files.completeUploadExternal: shares uploaded files, in a thread with thread_ts.
    'files.completeUploadExternal': (args) => {
      const list = Array.isArray(args.files) ? (args.files as { id?: unknown; title?: unknown }[]) : [];
      if (list.length === 0) throw new SlackApiError('invalid_arguments', ['files is required']);
      for (const entry of list) {
        const file = typeof entry.id === 'string' ? files.get(entry.id) : undefined;
        if (!file?.uploaded) throw new SlackApiError('file_not_found');
        file.shared = true;
        if (typeof entry.title === 'string') file.title = entry.title;
        if (typeof args.channel_id === 'string') file.channel = args.channel_id;
        if (typeof args.thread_ts === 'string') file.threadTs = args.thread_ts;
      }
      return { files: list.map((f) => ({ id: f.id })) };
    },

    'chat.getPermalink': (args) => {
      const channel = requireString(args, 'channel', 'channel_not_found');
      const ts = requireString(args, 'message_ts', 'message_not_found');
      if (!findMessage(channel, ts)) throw new SlackApiError('message_not_found');
      return { channel, permalink: `https://fake-team.slack.test/archives/${channel}/p${ts.replace('.', '')}` };
    },

    'conversations.open': (args) => {
      const list = (typeof args.users === 'string' ? args.users : '')
        .split(',')
        .map((u) => u.trim())
        .filter(Boolean);
      const [first] = list;
      if (first === undefined) throw new SlackApiError('users_list_not_supplied');
      if (list.length > 1) return { channel: { id: `G${list.sort().join('').replace(/[UW]/g, '').slice(0, 16)}` } };
      return { channel: { id: dmChannelFor(first) } };
    },

    'users.info': (args) => {
      const id = requireString(args, 'user', 'user_not_found');
      const user = users.get(id);
      if (!user) throw new SlackApiError('user_not_found');
      const name = user.name ?? id.toLowerCase();
      return {
        user: {
          id: user.id,
          team_id: teamId,
          name,
          deleted: user.deleted ?? false,
          real_name: user.realName ?? name,
          tz: user.tz ?? 'Europe/Paris',
          is_admin: user.isAdmin ?? false,
          is_owner: false,
          is_bot: user.isBot ?? false,
          profile: { real_name: user.realName ?? name, display_name: name, email: user.email },
        },
      };
    },

    'conversations.info': (args) => {
      const id = requireString(args, 'channel', 'channel_not_found');
      if (!/^[CG][A-Z0-9]+$/.test(id)) throw new SlackApiError('channel_not_found');
      return { channel: { id, name: id.toLowerCase(), is_member: !channelsWithoutBot.has(id) } };
    },

    'usergroups.users.list': (args) => {
      const id = requireString(args, 'usergroup', 'no_such_subteam');
      const members = usergroups.get(id);
      if (!members) throw new SlackApiError('no_such_subteam');
      return { users: [...members] };
    },

    'views.open': (args) => {
      const view = viewArg(args, 'modal');
      const user = consumeTrigger(args.trigger_id);
      const id = nextId('V');
      const stored: FakeView = { id, user, view, hash: newHash(), via: 'views.open', rootViewId: id };
      views.set(id, stored);
      return { view: viewAnswer(stored) };
    },

    'views.push': (args) => {
      const view = viewArg(args, 'modal');
      const user = consumeTrigger(args.trigger_id);
      const root = [...views.values()].filter((v) => v.user === user && v.via !== 'views.publish').at(-1);
      const rootViewId = root?.rootViewId ?? nextId('V');
      const stackSize = [...views.values()].filter((v) => v.rootViewId === rootViewId).length;
      if (stackSize >= MAX_VIEW_STACK) throw new SlackApiError('push_limit_reached');
      const id = nextId('V');
      const stored: FakeView = { id, user, view, hash: newHash(), via: 'views.push', rootViewId };
      views.set(id, stored);
      return { view: viewAnswer(stored) };
    },

    'views.update': (args) => {
      const view = viewArg(args);
      const stored =
        typeof args.view_id === 'string'
          ? views.get(args.view_id)
          : [...views.values()].find(
              (v) => typeof args.external_id === 'string' && v.view.external_id === args.external_id,
            );
      if (!stored) throw new SlackApiError('not_found');
      if (typeof args.hash === 'string' && args.hash !== stored.hash) throw new SlackApiError('hash_conflict');
      stored.view = view;
      stored.hash = newHash();
      return { view: viewAnswer(stored) };
    },

    'views.publish': (args) => {
      const user = requireString(args, 'user_id', 'user_not_found');
      const view = viewArg(args, 'home');
      homeViews.set(user, view);
      return { view: { ...view, id: nextId('V'), hash: newHash() } };
    },
  };

  /** A view as Slack returns it from views.open / push / update: the app's view plus Slack's bookkeeping fields. */
  function viewAnswer(stored: FakeView): Record<string, unknown> {
    return {
      ...stored.view,
      id: stored.id,
      team_id: teamId,
      hash: stored.hash,
      root_view_id: stored.rootViewId,
      previous_view_id: null,
      app_id: 'A0FAKE0001',
      bot_id: botId,
      state: { values: {} },
    };
  }

  function handleApiCall(method: string, args: Record<string, unknown>, presentedToken: string | undefined): ApiAnswer {
    // Recorded without the token, so a test that prints the calls never prints a credential.
    const safeArgs = { ...args };
    delete safeArgs.token;
    const record = (outcome: RecordedCall['outcome']) => calls.push({ method, args: safeArgs, outcome });
    if (presentedToken === undefined) {
      record({ ok: false, error: 'not_authed', status: 200 });
      return { status: 200, body: { ok: false, error: 'not_authed' } };
    }
    // apps.connections.open is the one method that takes the app-level token, and it takes no other.
    const expectedToken = method === 'apps.connections.open' ? appToken : token;
    if (presentedToken !== expectedToken) {
      const error = presentedToken === token || presentedToken === appToken ? 'not_allowed_token_type' : 'invalid_auth';
      record({ ok: false, error, status: 200 });
      return { status: 200, body: { ok: false, error } };
    }
    const fault = takeFault(method);
    if (fault) {
      const answer = faultAnswer(fault);
      const error = typeof answer.body === 'object' ? String(answer.body.error) : undefined;
      record({ ok: false, ...(error ? { error } : {}), status: answer.status });
      return answer;
    }
    const implementation = methods[method];
    if (!implementation) {
      record({ ok: false, error: 'unknown_method', status: 200 });
      return { status: 200, body: { ok: false, error: 'unknown_method' } };
    }
    try {
      const result = implementation(args);
      record({ ok: true });
      const granted = presentedToken === token ? { 'x-oauth-scopes': scopes.join(',') } : undefined;
      return { status: 200, body: { ok: true, ...result }, ...(granted ? { headers: granted } : {}) };
    } catch (error) {
      if (!(error instanceof SlackApiError)) throw error;
      record({ ok: false, error: error.error, status: 200 });
      const body: Record<string, unknown> = { ok: false, error: error.error };
      if (error.details.length > 0) {
        body.errors = error.details;
        body.response_metadata = { messages: error.details.map((d) => `[ERROR] ${d}`) };
      }
      return { status: 200, body };
    }
  }

  function handleResponseUrl(url: string, body: Record<string, unknown>): ApiAnswer {
    const entry = responseUrls.get(url);
    const fault = takeFault('response_url');
    if (fault) return faultAnswer(fault);
    if (!entry) return { status: 404, body: { ok: false, error: 'no_service' } };
    if (entry.posts.length >= RESPONSE_URL_USES || now() - entry.issuedAt > RESPONSE_URL_TTL_MS) {
      return { status: 404, body: { ok: false, error: 'used_url' } };
    }
    entry.posts.push({ url, body });
    const { target } = entry;
    const text = typeof body.text === 'string' ? body.text : '';
    const blocks = Array.isArray(body.blocks) ? (body.blocks as unknown[]) : [];
    const original = target.messageTs ? findMessage(target.channelId, target.messageTs) : undefined;
    if (body.delete_original === true && original) {
      const list = messagesOf(original.channel);
      list.splice(list.indexOf(original), 1);
    } else if (body.replace_original === true && original) {
      original.text = text;
      original.blocks = blocks;
      original.edits += 1;
    } else if (body.response_type === 'in_channel') {
      messagesOf(resolveChannel(target.channelId)).push({
        channel: resolveChannel(target.channelId),
        ts: nextTs(),
        text,
        blocks,
        edits: 0,
      });
    } else {
      ephemerals.push({ channel: target.channelId, user: target.userId, text, blocks, via: 'response_url' });
    }
    return { status: 200, body: { ok: true } };
  }

  function takeFault(method: string): Fault | undefined {
    const fault = faults.get(method);
    if (!fault) return undefined;
    fault.count -= 1;
    if (fault.count <= 0) faults.delete(method);
    return fault;
  }

  const server: Server = createServer((req, res) => {
    void serve(req, res).catch((error: unknown) => {
      // A bug in the fake, not an answer Slack would give: make it loud.
      res.writeHead(500, { 'content-type': 'text/plain' });
      res.end(`fake Slack crashed: ${error instanceof Error ? error.message : String(error)}`);
    });
  });

  async function serve(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const fileId = /^\/(?:files-pri|upload)\/(F[A-Z0-9]+)/.exec(path)?.[1];
    const file = fileId ? files.get(fileId) : undefined;
    if (req.method === 'GET' && path.startsWith('/files-pri/')) {
      // Without the bot token Slack answers a login page, never the file.
      if (req.headers.authorization !== `Bearer ${token}` || !file?.uploaded) {
        return send(res, { status: 302, body: '', headers: { location: 'https://fake-team.slack.test/?redir=login' } });
      }
      return send(res, { status: 200, body: file.content, headers: { 'content-type': 'text/csv' } });
    }
    if (req.method === 'POST' && path.startsWith('/upload/')) {
      if (!file || file.uploaded) return send(res, { status: 404, body: 'no such upload' });
      file.content = raw;
      file.uploaded = true;
      return send(res, { status: 200, body: `OK - ${Buffer.byteLength(raw)}` });
    }
    if (req.method !== 'POST') return send(res, { status: 405, body: { ok: false, error: 'method_not_allowed' } });
    if (path.startsWith('/response/')) {
      return send(res, handleResponseUrl(`${baseUrl}${path}`, parseJsonObject(raw) ?? {}));
    }
    if (!path.startsWith('/api/')) return send(res, { status: 404, body: { ok: false, error: 'unknown_method' } });
    const method = path.slice('/api/'.length);
    const args = decodeArgs(raw, req.headers['content-type']);
    if (args === undefined) return send(res, { status: 200, body: { ok: false, error: 'invalid_form_data' } });
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    const presented = bearer ?? (typeof args.token === 'string' ? args.token : undefined);
    send(res, handleApiCall(method, args, presented));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const baseUrl = `http://127.0.0.1:${port}`;

  return {
    apiUrl: `${baseUrl}/api/`,
    token,
    appToken,
    teamId,
    botUserId,
    calls: (method) => (method === undefined ? [...calls] : calls.filter((c) => c.method === method)),
    messagesIn: (channel) => (channels.get(resolveChannel(channel)) ?? []).map((m) => ({ ...m })),
    dmChannelFor,
    dmsTo: (userId) => (channels.get(dmChannelFor(userId)) ?? []).map((m) => ({ ...m })),
    ephemeralsFor: (userId) => ephemerals.filter((e) => e.user === userId),
    viewsOpenedFor: (userId) => [...views.values()].filter((v) => v.user === userId),
    homeViewFor: (userId) => homeViews.get(userId),
    issueTriggerId(userId) {
      const seconds = Math.floor(now() / 1000);
      const id = `${seconds}.${String(++idCounter).padStart(8, '0')}.${randomBytes(16).toString('hex')}`;
      triggers.set(id, { user: userId, issuedAt: now(), used: false });
      return id;
    },
    newResponseUrl(target) {
      const url = `${baseUrl}/response/${teamId}/${++idCounter}/${randomBytes(12).toString('hex')}`;
      responseUrls.set(url, { target, issuedAt: now(), posts: [] });
      return url;
    },
    responsesAt: (url) => [...(responseUrls.get(url)?.posts ?? [])],
    seedUser: (user) => void users.set(user.id, user),
    setSocketModeUrl: (url) => void (socketModeUrl = url),
    seedUsergroup: (groupId, userIds) => void usergroups.set(groupId, [...userIds]),
    setScopes: (granted) => void (scopes = [...granted]),
    removeBotFrom: (channel) => void channelsWithoutBot.add(channel),
    failNext(method, fault = {}) {
      faults.set(method, { ...fault, count: fault.count ?? 1 });
    },
    seedFile(name, content) {
      const id = nextId('F');
      files.set(id, { id, name, content, uploaded: true, shared: false });
      return { id, name, content };
    },
    uploadedFiles: () =>
      [...files.values()]
        .filter((f) => f.shared)
        .map(({ id, name, content, title, channel, threadTs }) => ({ id, name, content, title, channel, threadTs })),
    async waitFor<T>(predicate: () => T | undefined | null | false, timeoutMs = 2000): Promise<T> {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const value = predicate();
        if (value) return value;
        if (Date.now() > deadline)
          throw new Error(`fake Slack: the awaited condition did not hold within ${timeoutMs} ms`);
        await new Promise((r) => setTimeout(r, 10));
      }
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

interface ApiAnswer {
  status: number;
  body: Record<string, unknown> | string;
  headers?: Record<string, string>;
}

function faultAnswer(fault: Fault): ApiAnswer {
  if (fault.retryAfter !== undefined) {
    return {
      status: 429,
      headers: { 'retry-after': String(fault.retryAfter) },
      body: { ok: false, error: 'ratelimited' },
    };
  }
  if (fault.status !== undefined && fault.status !== 200) {
    return { status: fault.status, body: `fake Slack: injected HTTP ${fault.status}` };
  }
  return { status: 200, body: { ok: false, error: fault.error ?? 'internal_error' } };
}

function send(res: ServerResponse, answer: ApiAnswer): void {
  const isText = typeof answer.body === 'string';
  res.writeHead(answer.status, {
    'content-type': isText ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8',
    ...answer.headers,
  });
  res.end(isText ? answer.body : JSON.stringify(answer.body));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJsonObject(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

/** Form bodies: JSON-encoded arguments are decoded back; JSON bodies are taken as they are. */
function decodeArgs(raw: string, contentType: string | undefined): Record<string, unknown> | undefined {
  if ((contentType ?? '').startsWith('application/json')) return raw.length === 0 ? {} : parseJsonObject(raw);
  const form = parseQuery(raw);
  const args: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(form)) {
    const single = Array.isArray(value) ? value[0] : value;
    if (single === undefined) continue;
    if (JSON_ARGS.has(key)) {
      try {
        args[key] = JSON.parse(single) as unknown;
      } catch {
        return undefined;
      }
    } else {
      args[key] = single;
    }
  }
  return args;
}

function requireString(args: Record<string, unknown>, key: string, error: string): string {
  const value = args[key];
  if (typeof value !== 'string' || value.length === 0) throw new SlackApiError(error);
  return value;
}

function messageContent(
  args: Record<string, unknown>,
  opts: { allowEmpty?: boolean } = {},
): { text: string; blocks: unknown[] } {
  const text = typeof args.text === 'string' ? args.text : '';
  const blocks = args.blocks === undefined ? [] : args.blocks;
  if (!Array.isArray(blocks)) throw new SlackApiError('invalid_blocks_format');
  if (!opts.allowEmpty && text.length === 0 && blocks.length === 0) throw new SlackApiError('no_text');
  if (text.length > MAX_MESSAGE_TEXT) throw new SlackApiError('msg_too_long');
  const problems = blockProblems(blocks, MAX_BLOCKS_PER_MESSAGE, '/blocks');
  if (problems.length > 0) throw new SlackApiError('invalid_blocks', problems);
  return { text, blocks };
}

function viewArg(args: Record<string, unknown>, expectedType?: 'modal' | 'home'): Record<string, unknown> {
  const view = args.view;
  if (typeof view !== 'object' || view === null || Array.isArray(view)) {
    throw new SlackApiError('invalid_arguments', ['view is required [json-pointer:/view]']);
  }
  const v = view as Record<string, unknown>;
  const type = v.type;
  if (type !== 'modal' && type !== 'home')
    throw new SlackApiError('invalid_arguments', ['view type must be modal or home [json-pointer:/view/type]']);
  if (expectedType !== undefined && type !== expectedType) {
    throw new SlackApiError('invalid_arguments', [
      `this method takes a ${expectedType} view [json-pointer:/view/type]`,
    ]);
  }
  const problems: string[] = [];
  if (type === 'modal') {
    for (const key of ['title', 'submit', 'close'] as const) {
      const text = plainText(v[key]);
      if (key === 'title' && text === undefined) problems.push('title is required [json-pointer:/view/title]');
      if (text !== undefined && text.length > MAX_MODAL_TITLE) {
        problems.push(`must be less than ${MAX_MODAL_TITLE + 1} characters [json-pointer:/view/${key}/text]`);
      }
    }
  }
  if (typeof v.private_metadata === 'string' && v.private_metadata.length > MAX_PRIVATE_METADATA) {
    problems.push(`must be less than ${MAX_PRIVATE_METADATA + 1} characters [json-pointer:/view/private_metadata]`);
  }
  if (typeof v.callback_id === 'string' && v.callback_id.length > MAX_ID_LENGTH) {
    problems.push(`must be less than ${MAX_ID_LENGTH + 1} characters [json-pointer:/view/callback_id]`);
  }
  const blocks = Array.isArray(v.blocks) ? v.blocks : [];
  if (!Array.isArray(v.blocks)) problems.push('blocks is required [json-pointer:/view/blocks]');
  problems.push(...blockProblems(blocks, MAX_BLOCKS_PER_VIEW, '/view/blocks'));
  // Slack answers view schema errors with invalid_arguments and the details in response_metadata.messages.
  if (problems.length > 0) throw new SlackApiError('invalid_arguments', problems);
  return v;
}

function plainText(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const text = (value as { text?: unknown }).text;
  return typeof text === 'string' ? text : undefined;
}

/** The per-block limits a test should trip over (docs/slack.md#limits). */
function blockProblems(blocks: unknown[], maxBlocks: number, pointer: string): string[] {
  const problems: string[] = [];
  if (blocks.length > maxBlocks) problems.push(`no more than ${maxBlocks} items allowed [json-pointer:${pointer}]`);
  const tooLong = (value: unknown, max: number, at: string) => {
    if (typeof value === 'string' && value.length > max)
      problems.push(`must be less than ${max + 1} characters [json-pointer:${at}]`);
  };
  blocks.forEach((raw, i) => {
    const at = `${pointer}/${i}`;
    if (typeof raw !== 'object' || raw === null) {
      problems.push(`invalid block [json-pointer:${at}]`);
      return;
    }
    const block = raw as Record<string, unknown>;
    tooLong(block.block_id, MAX_ID_LENGTH, `${at}/block_id`);
    if (block.type === 'section') {
      tooLong(plainText(block.text), MAX_SECTION_TEXT, `${at}/text/text`);
      if (Array.isArray(block.fields)) {
        block.fields.forEach((f, j) => tooLong(plainText(f), MAX_SECTION_FIELD_TEXT, `${at}/fields/${j}/text`));
      }
      if (block.accessory) elementProblems(block.accessory, `${at}/accessory`, tooLong, problems);
    } else if (block.type === 'header') {
      tooLong(plainText(block.text), MAX_HEADER_TEXT, `${at}/text/text`);
    } else if (block.type === 'actions' || block.type === 'context') {
      if (Array.isArray(block.elements))
        block.elements.forEach((e, j) => elementProblems(e, `${at}/elements/${j}`, tooLong, problems));
    } else if (block.type === 'input') {
      if (block.element) elementProblems(block.element, `${at}/element`, tooLong, problems);
    }
  });
  return problems;
}

function elementProblems(
  raw: unknown,
  at: string,
  tooLong: (value: unknown, max: number, at: string) => void,
  problems: string[],
): void {
  if (typeof raw !== 'object' || raw === null) return;
  const element = raw as Record<string, unknown>;
  tooLong(element.action_id, MAX_ID_LENGTH, `${at}/action_id`);
  if (element.type === 'button') tooLong(element.value, MAX_BUTTON_VALUE, `${at}/value`);
  if (element.type === 'plain_text_input' && typeof element.max_length === 'number' && element.max_length > 3000) {
    problems.push(`max_length must be at most 3000 [json-pointer:${at}/max_length]`);
  }
  if (Array.isArray(element.options) && element.options.length > MAX_OPTIONS) {
    problems.push(`no more than ${MAX_OPTIONS} items allowed [json-pointer:${at}/options]`);
  }
  const confirm = element.confirm;
  if (typeof confirm === 'object' && confirm !== null) {
    tooLong(plainText((confirm as { text?: unknown }).text), MAX_CONFIRM_TEXT, `${at}/confirm/text/text`);
  }
}

/**
 * Everything a reader sees in a message or view, flattened to one string: the fallback text, headers, section
 * text and fields, context elements, button labels. For assertions that read like what a user sees.
 */
export function visibleText(subject: { text?: string; blocks?: unknown[] } | unknown[]): string {
  const blocks = Array.isArray(subject) ? subject : (subject.blocks ?? []);
  const parts: string[] = Array.isArray(subject) || !subject.text ? [] : [subject.text];
  const textOf = (v: unknown) => plainText(v) ?? (typeof v === 'string' ? v : undefined);
  for (const raw of blocks) {
    if (typeof raw !== 'object' || raw === null) continue;
    const block = raw as Record<string, unknown>;
    const direct = textOf(block.text);
    if (direct) parts.push(direct);
    if (Array.isArray(block.fields)) for (const f of block.fields) parts.push(textOf(f) ?? '');
    const elements = Array.isArray(block.elements) ? block.elements : block.accessory ? [block.accessory] : [];
    for (const e of elements) {
      if (typeof e !== 'object' || e === null) continue;
      const text = textOf((e as { text?: unknown }).text) ?? textOf(e);
      if (text) parts.push(text);
    }
    const label = textOf(block.label);
    if (label) parts.push(label);
  }
  return parts.filter(Boolean).join('\n');
}
