/**
 * SlackSurface: the few Web API calls AccountDesk makes, behind names that say what they are for. Everything
 * that talks to Slack outside a listener's ack/respond goes through here.
 */
import { webApi, type types } from '@slack/bolt';
import type { Logger } from 'pino';
import type { SlackMessage } from './blocks/card.js';
import { PostPacer, type PostPaceSettings } from './post-pacing.js';
import { LIMITS } from './text.js';
import { ViewSeal } from './view-seal.js';

type WebClient = webApi.WebClient;

export interface CardRef {
  channel: string;
  ts: string;
}

/** The "kind" App Home's private_metadata is signed for (modals use their callback_id). */
const HOME = 'home';

export class SlackSurface {
  private readonly dmChannels = new Map<string, string>();
  /** Signs every view's private_metadata with a key derived from the bot token, which every replica holds. */
  private readonly seal: ViewSeal;
  /** chat.postMessage paced per channel (post-pacing.ts). */
  private readonly posts: PostPacer;

  constructor(
    readonly client: WebClient,
    private readonly channels: { approvals: string; audit: string },
    private readonly logger: Logger,
    postPace?: PostPaceSettings,
  ) {
    this.seal = new ViewSeal(client.token ?? '');
    this.posts = new PostPacer(postPace);
    // The WebClient honours a 429's Retry-After itself (it waits, then retries: docs/slack.md#web-api-client); this
    // also holds back the next posts to that channel until then, instead of sending them into the same limit.
    client.on(webApi.WebClientEvent.RATE_LIMITED, (retrySec: number, request: { body?: { channel?: unknown } }) => {
      const channel = request.body?.channel;
      if (typeof channel !== 'string') return;
      this.logger.warn({ channel, retrySec }, 'Slack rate-limited posts to a channel: pausing them for Retry-After');
      this.posts.pause(channel, retrySec * 1000);
    });
  }

  async postCard(message: SlackMessage): Promise<string> {
    await this.posts.turn(this.channels.approvals);
    const res = await this.client.chat.postMessage({ channel: this.channels.approvals, ...limited(message) });
    return `${res.channel ?? this.channels.approvals}/${res.ts}`;
  }

  async updateCard(cardRef: string, message: SlackMessage): Promise<void> {
    const { channel, ts } = parseCardRef(cardRef);
    await this.client.chat.update({ channel, ts, ...limited(message) });
  }

  /** A reply in the thread of a card (a batch's full list and results). */
  async postInThread(cardRef: string, text: string): Promise<void> {
    const { channel, ts } = parseCardRef(cardRef);
    await this.client.chat.postMessage({ channel, thread_ts: ts, text, unfurl_links: false, unfurl_media: false });
  }

  /**
   * Uploads a text file into the thread of a card: files.getUploadURLExternal, the bytes POSTed to the URL it
   * gives, then files.completeUploadExternal shares it (docs/slack.md#uploading-files).
   */
  async uploadToThread(cardRef: string, file: { name: string; title: string; content: string }): Promise<void> {
    const { channel, ts } = parseCardRef(cardRef);
    const bytes = Buffer.from(file.content, 'utf8');
    const target = await this.client.files.getUploadURLExternal({ filename: file.name, length: bytes.length });
    if (!target.upload_url || !target.file_id) throw new Error('files.getUploadURLExternal gave no upload_url');
    const posted = await fetch(target.upload_url, { method: 'POST', body: bytes });
    if (!posted.ok) throw new Error(`uploading ${file.name} to Slack answered HTTP ${posted.status}`);
    await this.client.files.completeUploadExternal({
      files: [{ id: target.file_id, title: file.title }],
      channel_id: channel,
      thread_ts: ts,
    });
  }

  /**
   * The text of a file a person gave the app (a modal's file input). Its address is asked of files.info, never
   * taken from the submission, so the bot token is only ever sent to where Slack itself says the file lives.
   */
  async readFile(fileId: string, maxBytes: number): Promise<{ name: string; text: string }> {
    const info = await this.client.files.info({ file: fileId });
    const url = info.file?.url_private_download ?? info.file?.url_private;
    if (!url) throw new Error(`Slack gave no download address for file ${fileId}`);
    if ((info.file?.size ?? 0) > maxBytes) {
      throw new FileTooLarge(`The file is larger than ${Math.round(maxBytes / 1024)} KB.`);
    }
    const response = await fetch(url, { headers: { authorization: `Bearer ${this.client.token ?? ''}` } });
    if (!response.ok) throw new Error(`downloading the file from Slack answered HTTP ${response.status}`);
    return { name: info.file?.name ?? fileId, text: await response.text() };
  }

  async postAuditLine(text: string): Promise<void> {
    // mrkdwn text, never link_names/parse:full: user text inside is already escaped (docs/slack.md#text-and-escaping).
    await this.posts.turn(this.channels.audit);
    await this.client.chat.postMessage({
      channel: this.channels.audit,
      text,
      unfurl_links: false,
      unfurl_media: false,
    });
  }

  /** A reply in the card's thread (chat.postMessage with thread_ts, docs/slack.md#posting-messages). */
  async replyToCard(cardRef: string, text: string): Promise<void> {
    const { channel, ts } = parseCardRef(cardRef);
    await this.client.chat.postMessage({ channel, thread_ts: ts, text, unfurl_links: false });
  }

  /** A link to the card that opens it in Slack (chat.getPermalink needs no scope). */
  async cardLink(cardRef: string): Promise<string | undefined> {
    const { channel, ts } = parseCardRef(cardRef);
    return (await this.client.chat.getPermalink({ channel, message_ts: ts })).permalink;
  }

  async postTo(channel: string, text: string): Promise<void> {
    await this.client.chat.postMessage({ channel, text, unfurl_links: false });
  }

  /** A DM from the app; `blocks` (with `text` as the notification fallback) for a message with buttons. */
  async dm(user: string, text: string, blocks?: types.KnownBlock[]): Promise<void> {
    const channel = await this.dmChannel(user);
    await this.posts.turn(channel);
    await this.client.chat.postMessage({ channel, text, ...(blocks ? { blocks } : {}), unfurl_links: false });
  }

  /** Visible once, to `user` only, in their DM with the app; Slack keeps no copy in the conversation history. */
  async showOnce(user: string, text: string): Promise<void> {
    await this.client.chat.postEphemeral({ channel: await this.dmChannel(user), user, text });
  }

  async ephemeral(channel: string, user: string, text: string): Promise<void> {
    await this.client.chat.postEphemeral({ channel, user, text });
  }

  /** Opens a modal for `user` (the one whose trigger_id it is), its private_metadata signed for them. */
  async openView(triggerId: string, view: types.ModalView, user: string): Promise<void> {
    const metadata = this.seal.seal(view.callback_id ?? '', user, view.private_metadata ?? '');
    await this.client.views.open({ trigger_id: triggerId, view: { ...view, private_metadata: metadata } });
  }

  async publishHome(user: string, view: types.HomeView): Promise<void> {
    const metadata = this.seal.seal(HOME, user, view.private_metadata ?? '');
    await this.client.views.publish({ user_id: user, view: { ...view, private_metadata: metadata } });
  }

  /**
   * What a view submitted or clicked by `user` carried in private_metadata, if this app issued it to them for that
   * view (a modal's callback_id; App Home); undefined for anything else.
   */
  issuedMetadata(view: { type: string; callback_id?: string; private_metadata?: string }, user: string) {
    return this.seal.open(view.type === HOME ? HOME : (view.callback_id ?? ''), user, view.private_metadata);
  }

  private async dmChannel(user: string): Promise<string> {
    const known = this.dmChannels.get(user);
    if (known) return known;
    const res = await this.client.conversations.open({ users: user });
    const id = res.channel?.id;
    if (!id) throw new Error(`conversations.open returned no channel for ${user}`);
    this.dmChannels.set(user, id);
    return id;
  }
}

export function parseCardRef(cardRef: string): CardRef {
  const slash = cardRef.indexOf('/');
  return { channel: cardRef.slice(0, slash), ts: cardRef.slice(slash + 1) };
}

/** At most 50 blocks per message (docs/slack.md#limits); builders stay far below, this is the last guard. */
function limited(message: SlackMessage): SlackMessage {
  return message.blocks.length <= LIMITS.blocksPerMessage
    ? message
    : { ...message, blocks: message.blocks.slice(0, LIMITS.blocksPerMessage) };
}

/** The Slack error code of a failed Web API call ('channel_not_found', 'ratelimited', ...), if any. */
export function slackErrorCode(err: unknown): string | undefined {
  const data = (err as { data?: { error?: string } }).data;
  if (data?.error) return data.error;
  const code = (err as { code?: string }).code;
  return code === 'slack_webapi_rate_limited_error' ? 'ratelimited' : code;
}

/** A file bigger than the app takes: said to the person as it is. */
export class FileTooLarge extends Error {
  override readonly name = 'FileTooLarge';
}
