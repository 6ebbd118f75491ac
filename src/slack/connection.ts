/**
 * The connection to Slack, and whether it is up.
 *
 * Socket Mode: @slack/socket-mode's own reconnect gives up and throws when apps.connections.open fails with an HTTP
 * or network error (SocketModeClient.retrieveWSSURL treats WebAPIHTTPError and WebAPIRequestError as unrecoverable),
 * and it throws from a timer, where nobody can catch it: the process died after a 2-second Slack outage
 * (https://github.com/slackapi/node-slack-sdk/issues/2656 is the same path at shutdown). So the SDK's reconnect is
 * switched off (autoReconnectEnabled: false) and SocketModeSupervisor reconnects instead: at once after a drop
 * (Slack's `disconnect` message asks for exactly that), then with a doubling back-off up to RECONNECT_MAX_DELAY_MS,
 * for as long as it takes, logging each failed attempt once with what to check.
 */
import { webApi } from '@slack/bolt';
import type { SocketModeReceiver } from '@slack/bolt';
import type { Logger } from 'pino';

/** What /readyz and operators need to know about the link to Slack. */
export interface SlackConnection {
  /** True while Slack can reach this process: Socket Mode connected (Slack said `hello`); always in HTTP mode. */
  isUp(): boolean;
  /** When the connection last went up or down. */
  since(): Date;
  /** The last failure to connect, in words, while it is down; undefined while up. */
  lastError(): string | undefined;
}

/**
 * HTTP mode holds no connection: Slack opens one per request, and a health probe answered by the same HTTP server
 * already proves it is listening.
 */
export function httpConnection(): SlackConnection {
  const since = new Date();
  return { isUp: () => true, since: () => since, lastError: () => undefined };
}

/** First wait after a failed reconnect; doubled after each further failure. */
const RECONNECT_FIRST_DELAY_MS = 1_000;
/**
 * The longest wait between attempts: long enough not to hammer apps.connections.open during a long Slack outage, short
 * enough that the bot is back within half a minute of Slack.
 */
const RECONNECT_MAX_DELAY_MS = 30_000;

type SocketModeClient = SocketModeReceiver['client'];

/**
 * Keeps a Socket Mode client connected after its first successful start. `describeFailure` turns an error into one
 * sentence saying what failed and what to check.
 */
export class SocketModeSupervisor implements SlackConnection {
  private up = false;
  private changedAt = new Date();
  private failure: string | undefined;
  private started = false;
  private stopping = false;
  private reconnecting: Promise<void> | undefined;
  private wakeUp: (() => void) | undefined;
  private backoffTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly client: SocketModeClient,
    private readonly logger: Logger,
    private readonly describeFailure: (err: unknown) => string,
  ) {
    client.on('connected', () => this.markUp());
    client.on('disconnected', () => this.onDisconnected());
  }

  isUp(): boolean {
    return this.up;
  }

  since(): Date {
    return this.changedAt;
  }

  lastError(): string | undefined {
    return this.up ? undefined : this.failure;
  }

  /** The first connection is made (by the receiver's start); from now on a drop is reconnected. */
  markStarted(): void {
    this.started = true;
    this.stopping = false;
  }

  /** No more reconnecting: the receiver is stopping. A back-off wait in progress ends at once. */
  stop(): void {
    this.stopping = true;
    if (this.backoffTimer) clearTimeout(this.backoffTimer);
    this.wakeUp?.();
  }

  private markUp(): void {
    if (!this.up && this.started) this.logger.info('Socket Mode connection to Slack is up again');
    this.up = true;
    this.failure = undefined;
    this.changedAt = new Date();
  }

  private onDisconnected(): void {
    if (this.up) {
      this.up = false;
      this.changedAt = new Date();
      if (!this.stopping) this.logger.warn('Socket Mode connection to Slack lost; reconnecting');
    }
    if (this.started && !this.stopping) this.reconnect();
  }

  /** One reconnect loop at a time: the failures of its own attempts also emit `disconnected`. */
  private reconnect(): void {
    this.reconnecting ??= this.reconnectUntilUp().finally(() => (this.reconnecting = undefined));
  }

  private async reconnectUntilUp(): Promise<void> {
    for (let attempt = 1; !this.stopping; attempt++) {
      try {
        await this.client.start();
        if (this.stopping) {
          // stop() ran while apps.connections.open was in flight, and start() went on to open a socket.
          await this.client.disconnect();
          return;
        }
        if (this.up) return;
      } catch (err) {
        if (this.stopping) return;
        const delayMs = Math.min(RECONNECT_FIRST_DELAY_MS * 2 ** (attempt - 1), RECONNECT_MAX_DELAY_MS);
        this.failure = this.describeFailure(err);
        this.logger.warn(
          { attempt, retryInMs: delayMs },
          `Socket Mode reconnect attempt ${attempt} failed: ${this.failure} Trying again in ${delayMs / 1000} s.`,
        );
        await this.wait(delayMs);
      }
    }
  }

  private wait(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wakeUp = resolve;
      this.backoffTimer = setTimeout(resolve, ms);
    }).finally(() => {
      this.wakeUp = undefined;
      this.backoffTimer = undefined;
    });
  }
}

/** @slack/socket-mode's error codes (its ErrorCode enum, not exported through Bolt) for a socket that is not open. */
const SOCKET_NOT_OPEN = new Set([
  'slack_socket_mode_send_while_disconnected_error',
  'slack_socket_mode_send_while_not_ready_error',
  'slack_socket_mode_websocket_error',
]);

/**
 * True for an error that only says Slack could not be reached for a while: a network failure, an HTTP 5xx or 429
 * from the Web API, or an ack sent while the socket was down. The reconnect loop and the publisher's retries recover
 * from these; main.ts keeps the process running when one escapes.
 */
export function isTransientSlackError(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, statusCode } = err as { code?: unknown; statusCode?: unknown };
  if (code === webApi.ErrorCode.RequestError || code === webApi.ErrorCode.RateLimitedError) return true;
  if (code === webApi.ErrorCode.HTTPError)
    return typeof statusCode === 'number' && (statusCode >= 500 || statusCode === 429);
  return typeof code === 'string' && SOCKET_NOT_OPEN.has(code);
}
