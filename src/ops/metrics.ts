/**
 * The Prometheus metrics AccountDesk exposes on GET /metrics (text format 0.0.4, through prom-client). Counters are
 * per process: with two replicas, sum them in the query (`sum by (action, state) (accountdesk_requests_total)`).
 * The two gauges read the shared store at scrape time, so every replica reports the same deployment-wide value.
 *
 * Nothing here knows Slack or a backend: the wiring (src/app.ts) feeds it through the observe* helpers below.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { BackendError, type BackendClient } from '../backends/types.js';
import type { RequestChange } from '../requests/events.js';
import type { AccountRequest } from '../requests/types.js';

export interface MetricSources {
  /** Audit entries at least one Slack consumer (audit channel, cards, DMs) has not posted yet. */
  outboxLag(): Promise<number>;
  /** Requests approved and waiting to be applied, or being applied right now. */
  engineQueueDepth(): Promise<number>;
}

/** Request states an audit event reports (`requested` is the request reaching `pending`). */
/** Seconds: a person decides within minutes to days; a backend applies within milliseconds to a minute. */
const DECISION_BUCKETS = [60, 300, 900, 3_600, 4 * 3_600, 12 * 3_600, 86_400, 3 * 86_400, 7 * 86_400];
const APPLY_BUCKETS = [0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 3_600];
const BACKEND_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** The backend operations timed and counted (the BackendClient methods that talk to the server). */
const BACKEND_OPERATIONS = new Set([
  'getUser',
  'createUser',
  'disableUser',
  'enableUser',
  'setQuota',
  'deleteUser',
  'addToGroup',
  'removeFromGroup',
  'resendInvite',
]);

export class Metrics {
  readonly registry = new Registry();
  private readonly requests: Counter<'action' | 'state'>;
  private readonly decisionSeconds: Histogram<'action' | 'decision'>;
  private readonly applySeconds: Histogram<'action' | 'backend'>;
  private readonly backendCalls: Counter<'backend' | 'operation' | 'outcome'>;
  private readonly backendSeconds: Histogram<'backend' | 'operation'>;
  private readonly slackErrors: Counter<'method' | 'code'>;

  constructor(sources: MetricSources) {
    const registers = [this.registry];
    collectDefaultMetrics({ register: this.registry });
    this.requests = new Counter({
      name: 'accountdesk_requests_total',
      help: 'Requests reaching each state, by action (a failed request retried and applied counts in both).',
      labelNames: ['action', 'state'],
      registers,
    });
    this.decisionSeconds = new Histogram({
      name: 'accountdesk_request_decision_seconds',
      help: 'Time from a request to its decision (the last approval needed, or the rejection).',
      labelNames: ['action', 'decision'],
      buckets: DECISION_BUCKETS,
      registers,
    });
    this.applySeconds = new Histogram({
      name: 'accountdesk_request_apply_seconds',
      help: 'Time from the approval that completed a request to its change being applied.',
      labelNames: ['action', 'backend'],
      buckets: APPLY_BUCKETS,
      registers,
    });
    this.backendCalls = new Counter({
      name: 'accountdesk_backend_calls_total',
      help: 'Backend operations by backend, operation and outcome (ok, or the error code such as auth_failed).',
      labelNames: ['backend', 'operation', 'outcome'],
      registers,
    });
    this.backendSeconds = new Histogram({
      name: 'accountdesk_backend_call_seconds',
      help: 'Duration of backend operations, retries and read-backs included.',
      labelNames: ['backend', 'operation'],
      buckets: BACKEND_BUCKETS,
      registers,
    });
    this.slackErrors = new Counter({
      name: 'accountdesk_slack_api_errors_total',
      help: 'Slack Web API calls that failed, by method and error code (not_in_channel, ratelimited, ...).',
      labelNames: ['method', 'code'],
      registers,
    });
    new Gauge({
      name: 'accountdesk_outbox_lag_entries',
      help: 'Audit entries not yet posted to Slack by the slowest consumer (audit channel, cards, DMs).',
      registers,
      async collect() {
        this.set(await sources.outboxLag().catch(() => Number.NaN));
      },
    });
    new Gauge({
      name: 'accountdesk_engine_queue_depth',
      help: 'Requests approved and waiting to be applied, or being applied.',
      registers,
      async collect() {
        this.set(await sources.engineQueueDepth().catch(() => Number.NaN));
      },
    });
  }

  /** The exposition text and its content type, for GET /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  slackApiError(method: string, code: string): void {
    this.slackErrors.inc({ method, code });
  }

  backendCall(backend: string, operation: string, outcome: string, seconds: number): void {
    this.backendCalls.inc({ backend, operation, outcome });
    this.backendSeconds.observe({ backend, operation }, seconds);
  }

  /** Counts the state an audit entry reports and times decisions and applies (`request` read just after). */
  /**
   * One stored change of a request, as the domain announces it (src/requests/events.ts): counts requests by
   * action and state, and times decisions and applies.
   */
  requestChanged(request: AccountRequest, change: RequestChange, atMs: number): void {
    const state = stateReached(request, change);
    if (state === undefined) return;
    const action = request.plan === 'single' ? (request.steps[0]?.action ?? 'unknown') : request.plan;
    this.requests.inc({ action, state });
    if (state === 'approved' || state === 'rejected') {
      this.decisionSeconds.observe({ action, decision: state }, seconds(Date.parse(request.createdAt), atMs));
    }
    const approvedAt = request.approvals.at(-1)?.at;
    // A plan with a time limit is applied, as far as the approval goes, when only its scheduled steps are left.
    const scheduled = request.steps.some((s) => s.notBefore !== undefined);
    if ((state === 'scheduled' || (state === 'applied' && !scheduled)) && approvedAt) {
      const backend = [...new Set(request.steps.map((s) => s.backend))].join(',');
      this.applySeconds.observe({ action, backend }, seconds(Date.parse(approvedAt), atMs));
    }
  }
}

/** The state a change brought the request to, when it is one the metrics count. */
function stateReached(request: AccountRequest, change: RequestChange): string | undefined {
  switch (change) {
    case 'requested':
      return 'pending';
    case 'approved':
      // A vote that leaves the request pending is not a decision.
      return request.state === 'approved' ? 'approved' : undefined;
    case 'rejected':
    case 'expired':
    case 'cancelled':
      return change;
    case 'step-settled':
      return ['applied', 'scheduled', 'failed', 'partly_applied'].includes(request.state) ? request.state : undefined;
    default:
      return undefined;
  }
}

function seconds(fromMs: number, toMs: number): number {
  return Math.max(0, (toMs - fromMs) / 1000);
}

/** The backend client, with every server operation counted and timed under its backend name. */
export function observeBackend(client: BackendClient, metrics: Metrics): BackendClient {
  return new Proxy(client, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof property !== 'string' || !BACKEND_OPERATIONS.has(property) || typeof value !== 'function') {
        return value;
      }
      return async (...args: unknown[]) => {
        const started = performance.now();
        let outcome = 'ok';
        try {
          const operation = value as (...a: unknown[]) => Promise<unknown>;
          return await operation.apply(target, args);
        } catch (err) {
          outcome = err instanceof BackendError ? err.code : 'unexpected';
          throw err;
        } finally {
          metrics.backendCall(target.name, property, outcome, (performance.now() - started) / 1000);
        }
      };
    },
  });
}
