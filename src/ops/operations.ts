/**
 * The operator's side of one running AccountDesk, wired in one place so src/app.ts stays a short composition:
 * the metrics (and what feeds them), the health endpoints for either Slack mode, and the daily audit anchor.
 */
import type { BackendClient } from '../backends/types.js';
import type { Logger } from '../log.js';
import type { AuditLog, Cursors, RecordStore, VersionedRecord } from '../store/types.js';
import { AuditAnchor, type AuditAnchorDeps } from './audit-anchor.js';
import { healthRoutes, startHealthServer, type HealthRoute } from './health-server.js';
import type { RequestEvents } from '../requests/events.js';
import { Metrics, observeBackend } from './metrics.js';
import { outboxStatus } from './outbox.js';

export interface OperationsDeps<R extends VersionedRecord> {
  audit: AuditLog;
  cursors: Cursors;
  requests: RecordStore<R>;
  logger: Logger;
  /** /readyz fails when the oldest audit entry not yet posted to Slack is older than this (default 5 minutes). */
  outboxStuckAfterMs?: number;
}

export class Operations<R extends VersionedRecord> {
  readonly metrics: Metrics;
  private readonly routes: ReturnType<typeof healthRoutes>;
  /**
   * Slack connection state for /readyz, read from src/slack/app.ts's slackConnection(): HTTP mode is up once the
   * receiver listens; Socket Mode follows the WebSocket (down while it reconnects after an outage).
   */
  private slackUp: () => boolean = () => false;
  private healthServer: Awaited<ReturnType<typeof startHealthServer>> | undefined;
  private anchor: AuditAnchor | undefined;

  constructor(private readonly deps: OperationsDeps<R>) {
    const { audit, cursors, requests } = deps;
    this.metrics = new Metrics({
      outboxLag: async () => (await outboxStatus(audit, cursors)).waiting,
      // The apply engine's queue: requests approved and not yet fully applied (their steps wait or run). Counted
      // from the indexes: a scrape reads no request.
      engineQueueDepth: async () =>
        (await Promise.all(['state:approved', 'state:applying'].map((key) => requests.countByIndex(key)))).reduce(
          (sum, n) => sum + n,
          0,
        ),
    });
    this.routes = healthRoutes({
      probes: {
        store: async () => void (await cursors.get('audit-channel')),
        slackConnected: () => this.slackUp(),
        outbox: () => outboxStatus(audit, cursors),
        outboxStuckAfterMs: deps.outboxStuckAfterMs ?? 300_000,
      },
      metrics: this.metrics,
      logger: deps.logger,
    });
  }

  /** Counts every stored change of a request the domain announces in this process. */
  observeRequests(events: RequestEvents): void {
    events.subscribe((request, change) => this.metrics.requestChanged(request, change, Date.now()));
  }

  /** The backends with every operation counted and timed. */
  observedBackends(backends: ReadonlyMap<string, BackendClient>): Map<string, BackendClient> {
    return new Map([...backends].map(([name, client]) => [name, observeBackend(client, this.metrics)]));
  }

  /** What HTTP mode's receiver serves besides its own /healthz. */
  get httpRoutes(): HealthRoute[] {
    return [this.routes.readyz, this.routes.metrics];
  }

  readonly slackApiError = (method: string, code: string): void => this.metrics.slackApiError(method, code);

  /** Socket Mode: serves /healthz, /readyz and /metrics on `port` (undefined: serves nothing, and says so). */
  async serveHealth(port: number | undefined): Promise<number | undefined> {
    if (port === undefined) {
      this.deps.logger.info('no health endpoints in Socket Mode: set HEALTH_PORT to serve /healthz, /readyz, /metrics');
      return undefined;
    }
    this.healthServer = await startHealthServer(
      port,
      [this.routes.healthz, this.routes.readyz, this.routes.metrics],
      this.deps.logger,
    );
    return this.healthServer.port;
  }

  /** Where /readyz reads the Slack connection from (Socket Mode: the WebSocket's own state). */
  slackConnection(isUp: () => boolean): void {
    this.slackUp = isUp;
  }

  startAnchor(deps: Omit<AuditAnchorDeps, 'audit' | 'cursors' | 'logger'>): AuditAnchor {
    this.anchor = new AuditAnchor({
      ...deps,
      audit: this.deps.audit,
      cursors: this.deps.cursors,
      logger: this.deps.logger,
    });
    this.anchor.start();
    return this.anchor;
  }

  async stop(): Promise<void> {
    this.slackUp = () => false;
    await this.anchor?.stop();
    await this.healthServer?.close();
  }
}
