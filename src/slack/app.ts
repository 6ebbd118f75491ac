/**
 * Builds the Bolt App: Socket Mode by default (the NAS and Nextcloud usually sit on a LAN with no inbound access),
 * HTTP mode with POST /slack/events and GET /healthz. The only file that constructs Bolt objects.
 */
import {
  App,
  HTTPReceiver,
  LogLevel,
  SocketModeReceiver,
  type CustomRoute,
  type Logger as BoltLogger,
} from '@slack/bolt';
import type { Logger } from 'pino';
import type { SlackSettings } from '../config/load.js';
import type { Coordination } from '../store/types.js';
import { asForeground } from '../store/write-priority.js';
import { observingFetch } from './api-errors.js';
import { httpConnection, SocketModeSupervisor, type SlackConnection } from './connection.js';
import { refuseReplays, signedRequestProperties } from './replay.js';

export interface SlackAppOptions {
  settings: SlackSettings;
  coordination: Coordination;
  logger: Logger;
  /** Answers GET /healthz in HTTP mode: true = 200. */
  healthy: () => Promise<boolean>;
  /** More GET routes for HTTP mode's receiver (/readyz, /metrics: src/ops/health-server.ts). */
  extraRoutes?: CustomRoute[];
  /** Told about every failed Web API call (method, error code), for the metrics. */
  onApiError?: (method: string, code: string) => void;
}

/**
 * Checks the bot token with Slack (auth.test, inside Bolt's init) and turns a failure into one sentence an operator
 * can act on. Without deferInitialization Bolt runs this check in its constructor and a failure surfaces as an
 * unhandled rejection with a stack trace.
 */
export async function initSlackApp(app: App, settings: SlackSettings): Promise<void> {
  try {
    await app.init();
  } catch (err) {
    const code =
      (err as { data?: { error?: string } }).data?.error ??
      (err as { original?: { cause?: { code?: string } } }).original?.cause?.code ??
      (err as Error).message;
    const where = settings.apiUrl ?? 'https://slack.com/api/';
    throw new Error(
      code === 'invalid_auth' || code === 'not_authed' || code === 'token_revoked' || code === 'account_inactive'
        ? `Slack refused SLACK_BOT_TOKEN (${code}): copy the Bot User OAuth Token ` +
            `(xoxb-...) again from the app's OAuth & Permissions page, and reinstall ` +
            `the app if it was removed.`
        : `Could not reach Slack at ${where} to check the bot token (${code}). ` +
            `Check this host's network, proxy and ` +
            `DNS${settings.apiUrl ? ', and SLACK_API_URL' : ''}.`,
      { cause: err },
    );
  }
}

export function createSlackApp({
  settings,
  coordination,
  logger,
  healthy,
  extraRoutes = [],
  onApiError,
}: SlackAppOptions): App {
  const clientOptions = {
    ...(onApiError ? { fetch: observingFetch(onApiError) } : {}),
    ...(settings.apiUrl
      ? { slackApiUrl: settings.apiUrl.endsWith('/') ? settings.apiUrl : `${settings.apiUrl}/` }
      : {}),
    // @slack/web-api has no timeout by default and retries for about 30 minutes (docs/slack.md#web-api-client):
    // calls made while someone waits must fail in seconds; the publisher retries its own work later.
    timeout: 10_000,
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 3_000 },
  };
  const boltLogger = toBoltLogger(logger.child({ component: 'bolt' }));
  let app: App;
  let connection: SlackConnection = httpConnection();
  if (settings.mode === 'http') {
    const receiver = new HTTPReceiver({
      signingSecret: settings.signingSecret!,
      endpoints: '/slack/events',
      customPropertiesExtractor: signedRequestProperties,
      customRoutes: [
        {
          path: '/healthz',
          method: ['GET'],
          handler: (_req, res) => {
            void healthy().then(
              (ok) => {
                res.writeHead(ok ? 200 : 503, { 'content-type': 'text/plain' });
                res.end(ok ? 'ok\n' : 'store unavailable\n');
              },
              () => {
                res.writeHead(503, { 'content-type': 'text/plain' });
                res.end('store unavailable\n');
              },
            );
          },
        },
        ...extraRoutes,
      ],
      logger: boltLogger,
    });
    app = new App({ token: settings.botToken, receiver, clientOptions, logger: boltLogger, deferInitialization: true });
  } else {
    // The receiver Bolt would build for socketMode: true (same app token and Web API base URL, so SLACK_API_URL also
    // reaches apps.connections.open), with readable start-up errors and our own reconnect loop (./connection.ts).
    const receiver = new SupervisedSocketModeReceiver(settings, logger.child({ component: 'slack-connection' }), {
      appToken: settings.appToken!,
      logger: toBoltLogger(logger.child({ component: 'socket-mode' }), SOCKET_MODE_FAILURE_LINES),
      autoReconnectEnabled: false,
      // One apps.connections.open per attempt: the reconnect loop does the waiting, with a back-off that has no end.
      installerOptions: { clientOptions: { ...clientOptions, retryConfig: { retries: 0 } } },
    });
    connection = receiver.connection;
    app = new App({
      token: settings.botToken,
      receiver,
      socketMode: true,
      clientOptions,
      logger: boltLogger,
      deferInitialization: true,
    });
  }
  connections.set(app, connection);
  // A person waits on every request Slack sends: its store writes (the replay guard's included) go ahead of the
  // background work queued for the one SQLite writer (src/store/write-priority.ts).
  app.use(({ next }) => asForeground(next));
  // Before every listener: refuse replayed and out-of-window requests (docs/slack.md#signatures-and-replays).
  app.use(refuseReplays(coordination));
  app.error((error) => {
    logger.error({ err: error }, 'a Slack listener failed');
    return Promise.resolve();
  });
  return app;
}

const connections = new WeakMap<App, SlackConnection>();

/** The link to Slack of an app built by createSlackApp: `slackConnection(app).isUp()` for a readiness probe. */
export function slackConnection(app: App): SlackConnection {
  const connection = connections.get(app);
  if (!connection) throw new Error('slackConnection(): this App was not built by createSlackApp');
  return connection;
}

/**
 * Bolt's SocketModeReceiver with a reconnect loop that never gives up (SocketModeSupervisor), and whose start() turns
 * a refused or unreachable apps.connections.open into one sentence an operator can act on. Bolt rejects with "An API
 * error occurred: invalid_auth", which does not say that the app-level token (not the bot token, already checked by
 * initSlackApp) is the one Slack refused.
 */
class SupervisedSocketModeReceiver extends SocketModeReceiver {
  readonly connection: SocketModeSupervisor;

  constructor(
    private readonly settings: SlackSettings,
    logger: Logger,
    options: ConstructorParameters<typeof SocketModeReceiver>[0],
  ) {
    super(options);
    this.connection = new SocketModeSupervisor(this.client, logger, (err) => socketModeFailure(err, settings));
  }

  override async start(): ReturnType<SocketModeReceiver['start']> {
    try {
      const started = await super.start();
      this.connection.markStarted();
      return started;
    } catch (err) {
      throw new Error(`Could not open a Socket Mode connection: ${socketModeFailure(err, this.settings)}`, {
        cause: err,
      });
    }
  }

  override stop(): ReturnType<SocketModeReceiver['stop']> {
    this.connection.stop();
    return super.stop();
  }
}

/** Codes @slack/socket-mode gives up on at once (UnrecoverableSocketModeStartError) that mean "wrong app token". */
const APP_TOKEN_REFUSED = new Set(['invalid_auth', 'not_authed', 'account_inactive', 'token_revoked']);

/** What went wrong opening a Socket Mode connection, and what to check, in one or two sentences. */
function socketModeFailure(err: unknown, settings: SlackSettings): string {
  if (err === undefined) {
    // start() rejects with nothing when the WebSocket closed before Slack said hello.
    return (
      'the WebSocket to the URL from apps.connections.open closed before Slack said hello. ' +
      'Check that this host may open outbound wss:// connections (proxy, firewall).'
    );
  }
  const code =
    (err as { data?: { error?: string } }).data?.error ??
    (err as { original?: { cause?: { code?: string } } }).original?.cause?.code ??
    (err as { statusCode?: number }).statusCode ??
    (err as Error).message;
  const where = settings.apiUrl ?? 'https://slack.com/api/';
  return typeof code === 'string' && APP_TOKEN_REFUSED.has(code)
    ? `Slack refused SLACK_APP_TOKEN (${code}): Socket Mode needs an app-level token (xapp-...) with the ` +
        'connections:write scope; create or copy one under Basic Information > App-Level Tokens.'
    : `apps.connections.open at ${where} failed (${code}). Check this host's network, proxy and DNS` +
        `${settings.apiUrl ? ', and SLACK_API_URL' : ''}, and https://slack-status.com.`;
}

/**
 * Lines @slack/socket-mode and @slack/web-api write for every failed connection attempt ("Failed to retrieve a new
 * WSS URL", "http request failed", "WebSocket error ..."). The reconnect loop already logs each failure once, with
 * what to check; these stay available at debug level.
 */
const SOCKET_MODE_FAILURE_LINES = /^(Failed to retrieve a new WSS URL|http request failed|WebSocket error)/;

/** Bolt's Logger interface on top of pino, so Bolt's lines get the same redaction as ours. */
function toBoltLogger(logger: Logger, demoteToDebug?: RegExp): BoltLogger {
  let level: LogLevel = LogLevel.INFO;
  const line =
    (method: 'debug' | 'info' | 'warn' | 'error') =>
    (...msg: unknown[]) => {
      const text = withoutWebApiBodies(msg.map((m) => (typeof m === 'string' ? m : JSON.stringify(m))).join(' '));
      logger[demoteToDebug?.test(text) ? 'debug' : method](text);
    };
  return {
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    setLevel: (l) => void (level = l),
    getLevel: () => level,
    setName: () => undefined,
  };
}

/**
 * @slack/web-api logs every call's full body and answer at debug level ("http request body: {...}"). Those carry
 * message texts, and one of them is the one-time password shown to a requester (chat.postEphemeral): a secret
 * only generated at run time, so the logger's value scrub cannot know it. Keep the line, drop the body.
 */
const WEB_API_BODY_LINE = /^(http request (?:body|result):).*/s;
function withoutWebApiBodies(text: string): string {
  return text.replace(
    WEB_API_BODY_LINE,
    '$1 [omitted: Web API bodies carry message texts, which may hold a one-time password]',
  );
}
