/**
 * GET /healthz, /readyz and /metrics, in both Slack modes. In HTTP mode Bolt's receiver serves them beside
 * /slack/events (as custom routes); in Socket Mode, which listens on no port of its own, a small node:http server
 * serves them on HEALTH_PORT.
 *
 *   /healthz  liveness: the process answers and its store connection works (restart me if not)
 *   /readyz   readiness: the store answers, the Slack connection is up, the outbox is not stuck
 *   /metrics  Prometheus text format (src/ops/metrics.ts)
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../log.js';
import type { Metrics } from './metrics.js';
import type { OutboxStatus } from './outbox.js';

export interface HealthProbes {
  /** Resolves when the store answers a read; rejects otherwise. */
  store(): Promise<void>;
  /** True while the Slack connection is up (Socket Mode: the WebSocket; HTTP mode: the receiver listens). */
  slackConnected(): boolean;
  outbox(): Promise<OutboxStatus>;
  /** The outbox counts as stuck when its oldest unposted entry is older than this. */
  outboxStuckAfterMs: number;
  now?: () => number;
}

/** A route in the shape Bolt's HTTPReceiver customRoutes take, so HTTP mode can mount the same handlers. */
export interface HealthRoute {
  path: string;
  method: string[];
  handler: (req: IncomingMessage, res: ServerResponse) => void;
}

interface Readiness {
  ready: boolean;
  /** One line per check, e.g. "store: ok", "outbox: stuck: 3 entries waiting since ...". */
  lines: string[];
}

async function readiness(probes: HealthProbes): Promise<Readiness> {
  const now = probes.now ?? Date.now;
  const lines: string[] = [];
  let ready = true;
  const fail = (line: string) => {
    ready = false;
    lines.push(line);
  };
  const storeUp = await probes.store().then(
    () => true,
    (err: unknown) => {
      fail(`store: unavailable (${err instanceof Error ? err.message : String(err)})`);
      return false;
    },
  );
  if (storeUp) lines.push('store: ok');
  if (probes.slackConnected()) lines.push('slack: connected');
  else fail('slack: not connected');
  if (storeUp) {
    try {
      const outbox = await probes.outbox();
      const age = outbox.oldestAt ? now() - Date.parse(outbox.oldestAt) : 0;
      if (outbox.waiting > 0 && age > probes.outboxStuckAfterMs) {
        fail(
          `outbox: stuck: ${outbox.waiting} audit entries not posted to Slack, the oldest since ${outbox.oldestAt} ` +
            '(the log names the Slack error)',
        );
      } else lines.push(`outbox: ok (${outbox.waiting} waiting)`);
    } catch (err) {
      fail(`outbox: unreadable (${err instanceof Error ? err.message : String(err)})`);
    }
  }
  return { ready, lines };
}

export function healthRoutes(deps: { probes: HealthProbes; metrics: Metrics; logger: Logger }): {
  healthz: HealthRoute;
  readyz: HealthRoute;
  metrics: HealthRoute;
} {
  const send = (res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8') => {
    res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    res.end(body);
  };
  const failed = (res: ServerResponse, what: string) => (err: unknown) => {
    deps.logger.warn({ err }, `${what} could not be answered`);
    if (!res.headersSent) send(res, 500, `${what} failed\n`);
  };
  return {
    healthz: {
      path: '/healthz',
      method: ['GET'],
      handler: (_req, res) => {
        deps.probes.store().then(
          () => send(res, 200, 'ok\n'),
          () => send(res, 503, 'store unavailable\n'),
        );
      },
    },
    readyz: {
      path: '/readyz',
      method: ['GET'],
      handler: (_req, res) => {
        readiness(deps.probes).then(
          ({ ready, lines }) => send(res, ready ? 200 : 503, `${lines.join('\n')}\n`),
          failed(res, '/readyz'),
        );
      },
    },
    metrics: {
      path: '/metrics',
      method: ['GET'],
      handler: (_req, res) => {
        deps.metrics
          .render()
          .then(({ contentType, body }) => send(res, 200, body, contentType), failed(res, '/metrics'));
      },
    },
  };
}

/** Serves `routes` on their own port (Socket Mode). Resolves once listening; close() stops it. */
export async function startHealthServer(
  port: number,
  routes: HealthRoute[],
  logger: Logger,
): Promise<{ port: number; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    const route = routes.find((r) => r.path === path);
    if (!route) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /healthz, /readyz or /metrics\n');
      return;
    }
    if (!route.method.includes(req.method ?? 'GET')) {
      res.writeHead(405, { allow: route.method.join(', '), 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    route.handler(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new Error(
          err.code === 'EADDRINUSE'
            ? `HEALTH_PORT ${port} is already in use: choose a free port for /healthz, /readyz and /metrics`
            : `Could not serve /healthz on HEALTH_PORT ${port} (${err.code ?? err.message})`,
          { cause: err },
        ),
      ),
    );
    server.listen(port, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  logger.info({ port: bound }, `health endpoints on port ${bound}: /healthz, /readyz, /metrics`);
  return {
    port: bound,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
