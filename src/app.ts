/**
 * The composition root: builds every part from the config and wires them together. main.ts calls it for the real
 * process; the end-to-end tests call it with fakes on loopback.
 */
import type { Logger } from 'pino';
import { createBackend } from './backends/registry.js';
import type { BackendClient } from './backends/types.js';
import { ConfigError, type Config } from './config/load.js';
import { createRequestDesk, type RequestDesk } from './requests/index.js';
import { requestIndexKeys } from './requests/lifecycle.js';
import { profileProblems } from './requests/plans.js';
import { ApprovalPolicy } from './requests/policy.js';
import type { AccountRequest } from './requests/types.js';
import { createSlackApp, initSlackApp, slackConnection } from './slack/app.js';
import { passwordText } from './slack/blocks/messages.js';
import { SlackDirectory } from './slack/directory.js';
import { registerListeners } from './slack/listeners/index.js';
import { AuditPublisher, type CardRecord } from './slack/publisher.js';
import { ReminderDelivery } from './slack/reminders.js';
import { SlackSurface } from './slack/surface.js';
import { Liveness } from './liveness.js';
import { openStore, type Store } from './store/index.js';
import type { AuditAnchor } from './ops/audit-anchor.js';
import { formatReport, runDoctor } from './ops/doctor.js';
import type { Metrics } from './ops/metrics.js';
import { Operations } from './ops/operations.js';
import { diagnoseSlack } from './slack/doctor.js';

export interface RunningAccountDesk {
  desk: RequestDesk;
  store: Store;
  publisher: AuditPublisher;
  metrics: Metrics;
  anchor: AuditAnchor;
  /** Socket Mode: the port /healthz, /readyz and /metrics are served on (HEALTH_PORT; 0 picks a free one). */
  healthPort?: number;
  /** Runs one expiry pass and one engine sweep now (timers run them every minute and every few seconds). */
  sweep(): Promise<void>;
  /** Records the reminders and escalations due now (a timer does it every minute); the outbox delivers them. */
  remind(): Promise<void>;
  stop(): Promise<void>;
}

export interface StartOptions {
  logger: Logger;
  env?: NodeJS.ProcessEnv;
  /** Backends built elsewhere (tests); default: from the config. */
  backends?: Map<string, BackendClient>;
  sweepIntervalMs?: number;
  /** How often the engine looks for approved work and interrupted steps (default 5 s). */
  engineSweepIntervalMs?: number;
  publishIntervalMs?: number;
  /** How often every replica looks for requests due a reminder or an escalation (default 1 minute). */
  reminderIntervalMs?: number;
  /** A running batch's card is updated at most this often (default 3 s). */
  batchCardIntervalMs?: number;
  /** The domain's clock (request times, expiry); default the system clock. Tests move it to expire requests. */
  clock?: () => Date;
  /** How long this process counts as alive after its last heartbeat (a third of it between heartbeats). */
  instanceTtlMs?: number;
  /** Observes every store commit (crash tests kill the process after a chosen one). */
  afterStoreCommit?: (keys: string[]) => void;
  /** Observes every SQLite write that waited for the disk (test/e2e/store-commits.test.ts counts them). */
  afterDurableStoreWrite?: (keys: string[]) => void;
  /** /readyz fails when the oldest audit entry not yet posted to Slack is older than this (default 5 minutes). */
  outboxStuckAfterMs?: number;
  /** How often the daily audit anchor looks whether it is due (default 10 minutes). */
  anchorCheckIntervalMs?: number;
  /** How long the card's live read of a backend may take (default 10 s). */
  previewTimeoutMs?: number;
}

export async function startAccountDesk(config: Config, options: StartOptions): Promise<RunningAccountDesk> {
  const { logger } = options;
  const store = await openStore(config.storeUrl, {
    logger,
    namespace: config.storeNamespace,
    ...(options.afterStoreCommit ? { afterCommit: options.afterStoreCommit } : {}),
    ...(options.afterDurableStoreWrite ? { afterDurableWrite: options.afterDurableStoreWrite } : {}),
  });
  const requests = store.records<AccountRequest>('requests', requestIndexKeys);
  const ops = new Operations({
    audit: store.audit,
    cursors: store.cursors,
    requests,
    logger,
    outboxStuckAfterMs: options.outboxStuckAfterMs,
  });
  const backends = ops.observedBackends(
    options.backends ??
      new Map(
        Object.entries(config.backends).map(([name, { config: backend, secret }]) => [
          name,
          createBackend(name, backend, secret, { logger, env: options.env ?? process.env }),
        ]),
      ),
  );

  const problems = profileProblems(config.profiles, backends);
  if (problems.length > 0) {
    await Promise.all([...backends.values()].map((b) => b.close().catch(() => undefined)));
    await store.close();
    throw new ConfigError(problems.map((p) => `${config.configFile}: ${p}`));
  }

  const app = createSlackApp({
    settings: config.slack,
    coordination: store.coordination,
    logger,
    healthy: async () => (await store.cursors.get('audit-channel')) >= 0,
    extraRoutes: ops.httpRoutes,
    onApiError: ops.slackApiError,
  });
  const surface = new SlackSurface(
    app.client,
    { approvals: config.slack.approvalsChannel, audit: config.slack.auditChannel },
    logger,
    config.slack.postPace,
  );
  const directory = new SlackDirectory(app.client);
  const policy = new ApprovalPolicy(config.policy, directory);
  for (const warning of policy.warnings()) logger.warn(warning);

  const instanceTtlMs = options.instanceTtlMs ?? 30_000;
  const liveness = await Liveness.start(store.coordination, instanceTtlMs, logger);
  const desk = createRequestDesk({
    instance: { id: liveness.id, isAlive: (id) => liveness.isAlive(id) },
    requests,
    backends,
    policy,
    profiles: config.profiles,
    pacing: config.pacing,
    deliverPassword: (request, step, password) =>
      surface.showOnce(request.requester, passwordText(request, step, password)),
    logger,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.previewTimeoutMs ? { previewTimeoutMs: options.previewTimeoutMs } : {}),
  });
  ops.observeRequests(desk.events);
  const cards = store.records<CardRecord>('cards', () => []);
  const publisher = new AuditPublisher({
    audit: store.audit,
    cursors: store.cursors,
    leases: liveness,
    desk,
    cards,
    backendKinds: new Map([...backends.values()].map((b) => [b.name, b.kind])),
    surface,
    logger,
    intervalMs: options.publishIntervalMs,
    consumers: [new ReminderDelivery({ desk, cards, surface, logger })],
    batchCardIntervalMs: options.batchCardIntervalMs,
  });
  const doctor = async () =>
    formatReport(
      await runDoctor({
        config,
        backends,
        store,
        slack: () =>
          diagnoseSlack({
            settings: config.slack,
            approvers: config.policy.approvers,
            requesters: config.policy.requesters,
          }),
      }),
    );
  registerListeners(app, {
    desk,
    surface,
    cardOf: async (id) => (await cards.get(id))?.ref,
    command: config.slack.command,
    logger,
    doctor,
  });

  const closeBackends = () =>
    Promise.all(
      [...backends.values()].map((b) =>
        b.close().catch((err) => logger.warn({ err, backend: b.name }, 'backend did not close cleanly')),
      ),
    );
  let healthPort: number | undefined;
  try {
    // Open requests stored before an index key was added get listed under it too (requests/lifecycle.ts).
    await desk.queries.repairIndexes();
    await initSlackApp(app, config.slack);
    if (config.slack.mode === 'http') await app.start(config.slack.port);
    else {
      healthPort = await ops.serveHealth(config.healthPort);
      await app.start();
    }
    const connection = slackConnection(app);
    ops.slackConnection(() => connection.isUp());
  } catch (err) {
    // Leave nothing open behind a failed start: the caller exits or retries.
    await ops.stop();
    await liveness.stop();
    await closeBackends();
    await store.close();
    throw err;
  }
  logger.info(
    { mode: config.slack.mode, backends: [...backends.keys()], store: store.engine },
    `AccountDesk is ready (${config.slack.mode === 'http' ? `HTTP on port ${config.slack.port}` : 'Socket Mode'})`,
  );

  const sweep = async () => {
    // One replica at a time expires requests (a lease, released after each pass); the compare-and-swap keeps an
    // overlapping pass harmless.
    if (!(await liveness.acquire('sweeper', 120_000))) return;
    try {
      const expired = await desk.decisions.expireDue();
      if (expired.length > 0) logger.info({ expired: expired.length }, 'expiry sweep finished');
      // The DM before a scheduled step runs (docs/architecture.md#scheduled-steps): recorded once, posted by the
      // publisher from its audit entry.
      const noticed = await desk.schedules.recordNotices();
      await desk.schedules.replaceExtended();
      if (noticed > 0) logger.info({ noticed }, 'recorded notices of scheduled steps');
    } finally {
      await liveness.release('sweeper');
    }
  };
  // A sweep slower than the interval must not overlap the next one (the lease renews for its own owner).
  let sweeping: Promise<void> | undefined;
  const runSweep = () =>
    (sweeping ??= sweep()
      .catch((err) => logger.error({ err }, 'expiry sweep failed'))
      .finally(() => (sweeping = undefined)));
  // The engine's sweep runs in every replica: its claims are compare-and-swaps, so replicas share the work.
  let engineSweeping: Promise<void> | undefined;
  const runEngineSweep = () =>
    (engineSweeping ??= desk.engine
      .sweep()
      .then(({ reconciled, started }) => {
        if (reconciled > 0) logger.info({ reconciled, started }, 'reconciled interrupted steps by reading backends');
      })
      .catch((err) => logger.error({ err }, 'engine sweep failed'))
      .finally(() => (engineSweeping = undefined)));
  // Every replica looks: each reminder is one compare-and-swap on its request, so only one of them records it.
  let reminding: Promise<void> | undefined;
  const runReminders = () =>
    (reminding ??= desk.reminders
      .sendDue()
      .then(({ reminded, escalated }) => {
        if (reminded + escalated > 0) logger.info({ reminded, escalated }, 'reminders recorded');
      })
      .catch((err) => logger.error({ err }, 'reminder pass failed'))
      .finally(() => (reminding = undefined)));
  const sweepBoth = async () => {
    await Promise.all([runSweep(), runEngineSweep()]);
  };
  directory.keepWarm([...config.policy.approvers.groups, ...(config.policy.requesters?.groups ?? [])], (err) =>
    logger.warn({ err }, 'could not refresh a user group from Slack; clicks will ask Slack themselves'),
  );
  // Not awaited: start-up must not wait on a slow backend before Slack updates flow and signals are handled.
  // Each sweep logs its own failure, so a timer tick has nothing left to await.
  const sweepInBackground = () => void runSweep();
  const engineSweepInBackground = () => void runEngineSweep();
  void sweepBoth();
  publisher.start();
  const clock = options.clock ?? (() => new Date());
  const anchor = ops.startAnchor({
    leases: liveness,
    post: (text) => surface.postAuditLine(text),
    now: () => clock().getTime(),
    checkIntervalMs: options.anchorCheckIntervalMs,
  });
  const sweeper = setInterval(sweepInBackground, options.sweepIntervalMs ?? 60_000);
  sweeper.unref();
  // A step whose process died is reconciled once that process's liveness lease lapses (instanceTtlMs) and the
  // next engine sweep runs: within about instanceTtlMs + this interval, by its successor or any other replica.
  const engineSweeper = setInterval(engineSweepInBackground, options.engineSweepIntervalMs ?? 5_000);
  engineSweeper.unref();
  // A minute is well inside any reminder interval (at least a minute, in the config's own minutes).
  const reminderTicker = setInterval(() => void runReminders(), options.reminderIntervalMs ?? 60_000);
  reminderTicker.unref();
  void runReminders();

  return {
    desk,
    store,
    publisher,
    metrics: ops.metrics,
    anchor,
    ...(healthPort === undefined ? {} : { healthPort }),
    sweep: sweepBoth,
    remind: runReminders,
    async stop() {
      // First stop taking clicks, so no new apply starts while the rest shuts down.
      await app.stop().catch((err) => logger.warn({ err }, 'Bolt did not stop cleanly'));
      await ops.stop();
      clearInterval(sweeper);
      clearInterval(engineSweeper);
      clearInterval(reminderTicker);
      directory.stop();
      await sweeping;
      await engineSweeping;
      await reminding;
      // Applies already talking to a backend finish and record their outcome before the store closes; anything
      // cut off harder than this (SIGKILL, the 15 s deadline in main.ts) is reconciled by reading the backend.
      await desk.engine.idle();
      await desk.previews.idle();
      await publisher.stop();
      await closeBackends();
      await liveness.stop();
      await store.close();
    },
  };
}
