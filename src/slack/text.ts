/**
 * Text for Slack. User-supplied strings go through `esc` before they enter mrkdwn: Slack treats only &, < and >
 * as control characters, and escaping those three disarms <!channel>, <!here>, <@U...> and <!subteam^...>
 * (docs/slack.md#text-and-escaping). We never set link_names or parse:full.
 */

export function esc(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Undoes Slack's escaping of slash-command text (manifest should_escape: true sends &amp; &lt; &gt;). */
export function unescapeSlack(text: string): string {
  return text.replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&amp;/g, '&');
}

/** A mention of a user id we got from Slack itself (never from free text). */
export function mention(userId: string): string {
  return /^[UWB][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : esc(userId);
}

/** Slack renders this in each reader's time zone, with the ISO text as fallback. */
export function when(iso: string): string {
  const seconds = Math.floor(Date.parse(iso) / 1000);
  return Number.isFinite(seconds) ? `<!date^${seconds}^{date_short_pretty} {time}|${iso}>` : esc(iso);
}

/**
 * Cuts text to at most `max` characters without splitting an escape entity (&amp; &lt; &gt;), one of the app's own
 * <...> tokens (a mention, a <!date^...>: user text has no raw < left once escaped) or a surrogate pair, marking the
 * cut with an ellipsis.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - 1));
  const amp = cut.lastIndexOf('&');
  if (amp !== -1 && !cut.slice(amp).includes(';')) cut = cut.slice(0, amp);
  const open = cut.lastIndexOf('<');
  if (open !== -1 && !cut.slice(open).includes('>')) cut = cut.slice(0, open);
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}…`;
}

/**
 * A value the person typed, quoted back in an error: escaped, and cut to ECHO_MAX characters so that a pasted
 * 10,000-character line does not come back as a 50,000-character message.
 */
export function echo(value: string): string {
  return esc(truncate(value, ECHO_MAX));
}
export const ECHO_MAX = 60;

/**
 * A refusal or failure for the person who asked: ':warning:' and the message, escaped (domain messages quote what
 * was typed: ids, usernames, backend names) and capped at FAILURE_TEXT_MAX characters.
 */
export function warning(message: string): string {
  return `:warning: ${truncate(esc(message), FAILURE_TEXT_MAX)}`;
}
/** A sentence or three; domain messages are far shorter unless they quote a very long input. */
const FAILURE_TEXT_MAX = 1000;

/** Slack limits used where text is built (docs/slack.md#limits). */
export const LIMITS = {
  sectionText: 3000,
  headerText: 150,
  contextText: 2000,
  buttonValue: 2000,
  modalTitle: 24,
  privateMetadata: 3000,
  blocksPerMessage: 50,
  blocksPerView: 100,
  fallbackText: 4000,
} as const;
