/**
 * Replay protection for requests Slack sends to the app.
 *
 * Why: Bolt 5.1 checks the signature and refuses requests OLDER than 5 minutes, but accepts a timestamp 6 minutes
 * in the future and processes an exact replay of a signed request again (docs/slack.md#signatures-and-replays:
 * measured here, a replayed command posted a second message). Anyone who captured one signed request (a proxy log,
 * a TLS-terminating load balancer) could replay an approval click. So:
 *   - HTTP mode: refuse |now - X-Slack-Request-Timestamp| > 300 s in BOTH directions, and remember every signature
 *     that passed for the whole span in which its timestamp would still be accepted; a second sight is refused.
 *   - Both modes: Events API callbacks are remembered by event_id. Slack retries events (HTTP: X-Slack-Retry-Num,
 *     re-signed with a fresh timestamp, so the signature differs; Socket Mode: retry_attempt) and Socket Mode can
 *     deliver an event twice (docs/slack.md#retries-and-duplicate-events).
 *   - Socket Mode interactions (commands, clicks, submissions) carry no signature and need none: they arrive over a
 *     WebSocket the app opened itself with its xapp- token, so nobody on the network can inject or replay them, and
 *     Slack does not retry them. Their one-shot effects are guarded by the store's claims, not here.
 *
 * Wiring (HTTP mode): Bolt's App does not take customPropertiesExtractor itself; build the receiver:
 *   const receiver = new HTTPReceiver({
 *     signingSecret, port, customRoutes, customPropertiesExtractor: signedRequestProperties,
 *   });
 *   const app = new App({ token, receiver, ... });
 *   app.use(refuseReplays(coordination));          // register FIRST, before any listener middleware
 * Socket Mode: app.use(refuseReplays(coordination)) alone (event_id dedupe).
 *
 * A refused request is acknowledged with an empty 200 and nothing else runs: HTTPReceiver.handleIncomingEvent hands
 * every verified request to App.processEvent, which runs the global middleware chain before any listener; a global
 * middleware that does not call next() stops the chain, but an un-acked command/action would be answered 404 after
 * 3001 ms by HTTPResponseAck's timer (and logged as "not acknowledged"). Events API callbacks are acked by Bolt
 * before the middleware runs, so only interactions need our ack().
 */
import type { AnyMiddlewareArgs, Middleware } from '@slack/bolt';
import type { IncomingMessage } from 'node:http';
import type { Coordination } from '../store/types.js';

/** Slack's window: a request is valid only within 5 minutes of its timestamp (docs/slack.md#signatures-and-replays). */
const REQUEST_WINDOW_SECONDS = 300;

/**
 * How long a seen signature is remembered. A timestamp T is accepted while now is in [T - 300 s, T + 300 s], a
 * span of 600 s, wherever inside that span the first sight happened; remembering it 600 s (plus a little for clock
 * differences between replicas) covers every moment the replay would pass the timestamp check.
 */
export const SIGNATURE_MEMORY_MS = (2 * REQUEST_WINDOW_SECONDS + 30) * 1000;

/**
 * How long an event_id is remembered. Slack retries a failed event delivery three times: at once, after 1 minute
 * and after 5 minutes (docs.slack.dev, Events API "Retries"); an hour leaves a wide margin.
 */
export const EVENT_ID_MEMORY_MS = 60 * 60 * 1000;

/** The context key under which the extractor hands the signed-request headers to the middleware. */
const SIGNED_REQUEST_CONTEXT_KEY = 'slackSignedRequest';

export interface SignedRequestFacts {
  /** X-Slack-Signature as received ('v0=' + 64 hex), or undefined when the header was missing or repeated. */
  signature: string | undefined;
  /** X-Slack-Request-Timestamp in whole seconds, or undefined when missing or not a number. */
  timestampSec: number | undefined;
}

/**
 * HTTPReceiver's customPropertiesExtractor: lifts the two signing headers into the Bolt context (App.processEvent
 * spreads the returned object into `context`; the key must not be one of Bolt's built-in context keys).
 */
export function signedRequestProperties(request: Pick<IncomingMessage, 'headers'>): {
  [SIGNED_REQUEST_CONTEXT_KEY]: SignedRequestFacts;
} {
  const signature = singleHeader(request.headers['x-slack-signature']);
  const rawTimestamp = singleHeader(request.headers['x-slack-request-timestamp']);
  const timestampSec = rawTimestamp !== undefined && /^\d{1,12}$/.test(rawTimestamp) ? Number(rawTimestamp) : undefined;
  return { [SIGNED_REQUEST_CONTEXT_KEY]: { signature, timestampSec } };
}

function singleHeader(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

export type ReplayVerdict =
  | { ok: true }
  | { ok: false; reason: 'missing_headers' | 'stale' | 'future' | 'replayed_signature' | 'duplicate_event' };

/**
 * Decides whether one incoming request may run. Separate from the middleware so the decision is testable without
 * Bolt. `signed` is undefined in Socket Mode (no extractor, no signature).
 */
export async function checkReplay(
  coordination: Coordination,
  signed: SignedRequestFacts | undefined,
  eventId: string | undefined,
  nowMs: number,
): Promise<ReplayVerdict> {
  if (signed !== undefined) {
    if (signed.signature === undefined || signed.timestampSec === undefined)
      return { ok: false, reason: 'missing_headers' };
    const skewSec = nowMs / 1000 - signed.timestampSec;
    if (skewSec > REQUEST_WINDOW_SECONDS) return { ok: false, reason: 'stale' };
    if (skewSec < -REQUEST_WINDOW_SECONDS) return { ok: false, reason: 'future' };
    // The signature covers timestamp and raw body, so equal signatures mean the same bytes were sent again.
    if (!(await coordination.once(`slack:signature:${signed.signature}`, SIGNATURE_MEMORY_MS))) {
      return { ok: false, reason: 'replayed_signature' };
    }
  }
  if (eventId !== undefined && !(await coordination.once(`slack:event:${eventId}`, EVENT_ID_MEMORY_MS))) {
    return { ok: false, reason: 'duplicate_event' };
  }
  return { ok: true };
}

const REFUSAL_WORDS: Record<Exclude<ReplayVerdict, { ok: true }>['reason'], string> = {
  missing_headers: 'it carried no usable X-Slack-Signature / X-Slack-Request-Timestamp headers',
  stale: "its timestamp is more than 5 minutes old (check this server's clock if this repeats)",
  future: "its timestamp is more than 5 minutes in the future (check this server's clock if this repeats)",
  replayed_signature: 'the exact same signed request was already handled (a replay)',
  duplicate_event: 'this event_id was already handled (a Slack retry or a duplicate delivery)',
};

/**
 * Global Bolt middleware (app.use) that stops replays before any listener runs. Register it first.
 * Store failures propagate (Bolt's error handler logs them): refusing to guess keeps a replay from slipping through
 * while the store is down.
 */
export function refuseReplays(
  coordination: Coordination,
  /** Milliseconds since the epoch; tests inject a fixed clock. */
  now: () => number = Date.now,
): Middleware<AnyMiddlewareArgs> {
  return async (args) => {
    const signed = readSignedFacts(args.context[SIGNED_REQUEST_CONTEXT_KEY]);
    const verdict = await checkReplay(coordination, signed, eventIdOf(args.body), now());
    if (verdict.ok) {
      await args.next();
      return;
    }
    // Never log the signature itself: it is not the secret, but it is what a replayer would need.
    args.logger.warn(`Ignored a Slack request (${describeBody(args.body)}): ${REFUSAL_WORDS[verdict.reason]}.`);
    if ('ack' in args && typeof args.ack === 'function') {
      // Acked so the HTTP receiver answers 200 at once instead of a 404 after 3 s; nothing else runs.
      await args.ack();
    }
  };
}

function readSignedFacts(value: unknown): SignedRequestFacts | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { signature, timestampSec } = value as Partial<SignedRequestFacts>;
  return {
    signature: typeof signature === 'string' ? signature : undefined,
    timestampSec: typeof timestampSec === 'number' ? timestampSec : undefined,
  };
}

function eventIdOf(body: unknown): string | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { type, event_id: eventId } = body as { type?: unknown; event_id?: unknown };
  return type === 'event_callback' && typeof eventId === 'string' && eventId.length > 0 ? eventId : undefined;
}

function describeBody(body: unknown): string {
  if (typeof body !== 'object' || body === null) return 'unknown type';
  const { type, command } = body as { type?: unknown; command?: unknown };
  if (typeof command === 'string') return `slash command ${command.slice(0, 40)}`;
  return typeof type === 'string' ? `type ${type.slice(0, 40)}` : 'unknown type';
}
