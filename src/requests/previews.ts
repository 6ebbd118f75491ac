/**
 * The approval card's live preview: each step's backend read now, beside the change it proposes. Previews are
 * taken here, outside the Slack publisher's loop, and stored with the request (with their time) together with a
 * "previewed" audit entry, so the card is re-rendered from the store like every other change and a slow or dead
 * backend never holds up anyone else's cards, lines or DMs. Reads run in parallel, a few at a time per backend (so
 * a hung backend fills only its own slots), behind a per-backend circuit breaker (read-breaker.ts) that answers at
 * once for a backend whose recent reads failed instead of waiting out its timeouts again.
 */
import type { Logger } from 'pino';
import { BackendError, type BackendClient } from '../backends/types.js';
import type { RecordStore } from '../store/types.js';
import { ACTION_KINDS } from './actions/index.js';
import { requestEntry } from './audit-entries.js';
import { asStored } from './backend-view.js';
import type { RequestEvents } from './events.js';
import { backendFailure } from './outcomes.js';
import { Pacer } from './pacing.js';
import { DEFAULT_BREAKER, ReadBreaker, type BreakerSettings } from './read-breaker.js';
import { formatBytes } from './sizes.js';
import type { AccountRequest, Step, StepPreview, StepTarget } from './types.js';

export interface PreviewDeps {
  requests: RecordStore<AccountRequest>;
  backends: ReadonlyMap<string, BackendClient>;
  events: RequestEvents;
  logger: Logger;
  clock: () => Date;
  /** How long one read may take before the card says "could not read in time". */
  timeoutMs?: number;
  /** Reads of one backend in flight at once (default READS_PER_BACKEND). */
  readsPerBackend?: number;
  /** When a backend's reads are refused at once after failures (default DEFAULT_BREAKER). */
  breaker?: BreakerSettings;
}

/** The HTTP layer's own limits allow a read about 45 s with retries; a card should not wait that long. */
const PREVIEW_TIMEOUT_MS = 10_000;

/** A pending card re-read when re-rendered, at most this often. */
const PREVIEW_MAX_AGE_MS = 60_000;

/**
 * Reads of one backend at once: a burst of requests reads in parallel without flooding a server whose reads cost a
 * database query each (Nextcloud, docs/nextcloud-ocs.md) or a session-serialised admin API (DSM).
 */
const READS_PER_BACKEND = 4;

/**
 * A plan's steps read different backends: when one is slow, what the others answered is stored after this long, so
 * their lines on the card do not wait for it (its own line keeps saying it is reading, until it answers).
 */
const PARTIAL_AFTER_MS = 1_000;

export class Previews {
  private readonly timeoutMs: number;
  /** Reads in flight per request, so a burst of events takes one preview, not several. */
  private readonly taking = new Map<string, Promise<void>>();
  /** Per backend name: its read slots and its circuit breaker. */
  private readonly lanes = new Map<string, { pacer: Pacer; breaker: ReadBreaker }>();

  constructor(private readonly deps: PreviewDeps) {
    this.timeoutMs = deps.timeoutMs ?? PREVIEW_TIMEOUT_MS;
    deps.events.subscribe((request, change) => {
      // A batch's card shows its rows, not each account's live state: reading thousands of accounts before anyone
      // approved would load the backend for nothing.
      if (change === 'requested' && request.plan !== 'batch') this.refresh(request.id);
    });
  }

  /** Takes and stores a fresh preview of a pending request in the background. */
  refresh(id: string, options: { onlyIfStale?: boolean } = {}): void {
    if (this.taking.has(id)) return;
    const work = this.take(id, options.onlyIfStale ?? false)
      .catch((err) => this.deps.logger.warn({ err, request: id }, 'could not store the live preview'))
      .finally(() => this.taking.delete(id));
    this.taking.set(id, work);
  }

  /** Re-reads when the stored preview is older than PREVIEW_MAX_AGE_MS (a card re-rendered for a vote). */
  refreshIfStale(request: AccountRequest): void {
    if (request.state !== 'pending' || request.plan === 'batch') return;
    if (this.isStale(request)) this.refresh(request.id, { onlyIfStale: true });
  }

  /** Whether a step read today has no preview, or one older than PREVIEW_MAX_AGE_MS (scheduled steps are not read). */
  private isStale(request: AccountRequest): boolean {
    const read = request.steps.filter((s) => s.notBefore === undefined);
    const oldest = Math.min(...read.map((s) => (s.preview ? Date.parse(s.preview.at) : 0)));
    return this.deps.clock().getTime() - oldest >= PREVIEW_MAX_AGE_MS;
  }

  /** Resolves when no preview is being taken (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.taking.size > 0) await Promise.allSettled([...this.taking.values()]);
  }

  /** One step's backend, read now: what `/account info` and the card show. */
  async read(step: StepTarget & { skipIfMissing?: boolean }): Promise<StepPreview> {
    const at = this.deps.clock().toISOString();
    const backend = this.deps.backends.get(step.backend);
    if (!backend) return { at, error: `backend "${step.backend}" is no longer in the config` };
    const lane = this.laneOf(backend.name);
    // Asked before queueing and again once a slot is free: the breaker may have opened while this read waited.
    const refusedEarly = lane.breaker.wouldRefuse();
    if (refusedEarly) return { at, error: `${backend.name}: ${refusedEarly}` };
    return lane.pacer.run(async () => {
      const refused = lane.breaker.refusal();
      if (refused) return { at, error: `${backend.name}: ${refused}` };
      return this.readNow(step, backend, lane.breaker, at);
    });
  }

  private async readNow(
    step: StepTarget & { skipIfMissing?: boolean },
    backend: BackendClient,
    breaker: ReadBreaker,
    at: string,
  ): Promise<StepPreview> {
    let current: NonNullable<StepPreview['current']>;
    try {
      current = await withTimeout(
        backend.getUser(step.username),
        this.timeoutMs,
        () =>
          new BackendError(backend.name, 'timeout', `${backend.name} did not answer within ${this.timeoutMs / 1000} s`),
      );
      breaker.succeeded();
    } catch (err) {
      breaker.failed();
      return { at, error: backendFailure(err).message };
    }
    try {
      if (step.skipIfMissing && !current.exists) {
        // Offboarding: no account here is not a blocker, the step is skipped.
        return { at, current, assessment: { change: 'none', noOp: `no account on ${backend.name}: skipped` } };
      }
      const assessment = assess(step, backend, current);
      // An account this backend does not manage (nmcuser_oidc: a user it did not provision) cannot be changed
      // through it: say so on the card instead of letting the apply fail.
      if (current.exists && current.unmanaged && !assessment.blocker) assessment.blocker = current.unmanaged;
      return { at, current, assessment };
    } catch (err) {
      return { at, error: backendFailure(err).message };
    }
  }

  private laneOf(backend: string): { pacer: Pacer; breaker: ReadBreaker } {
    let lane = this.lanes.get(backend);
    if (!lane) {
      lane = {
        pacer: new Pacer({ concurrency: this.deps.readsPerBackend ?? READS_PER_BACKEND, minIntervalMs: 0 }),
        breaker: new ReadBreaker(this.deps.breaker ?? DEFAULT_BREAKER, () => this.deps.clock().getTime()),
      };
      this.lanes.set(backend, lane);
    }
    return lane;
  }

  private async take(id: string, onlyIfStale: boolean): Promise<void> {
    const request = await this.deps.requests.get(id);
    if (!request || request.state !== 'pending') return;
    // The caller judged staleness on its own copy, which may predate a preview stored since: one read, not two.
    if (onlyIfStale && !this.isStale(request)) return;
    // A scheduled step acts later on what the plan's other steps change now: today's state says nothing about it.
    const previews: (StepPreview | undefined)[] = request.steps.map(() => undefined);
    const readNow = request.steps.filter((step) => step.notBefore === undefined);
    const all = Promise.all(
      request.steps.map(async (step, i) => {
        if (step.notBefore === undefined) previews[i] = await this.read(step);
      }),
    ).then(() => previews);
    if (readNow.length > 1) {
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), PARTIAL_AFTER_MS)));
      const first = await Promise.race([all, late]).finally(() => clearTimeout(timer));
      if (first === 'late' && previews.some(Boolean) && !(await this.store(id, [...previews]))) return;
    }
    await this.store(id, await all);
  }

  /** Stores the previews that are there (undefined: keep the step's current one); false once it is decided. */
  private async store(id: string, previews: (StepPreview | undefined)[]): Promise<boolean> {
    const result = await this.deps.requests.update<string>(
      id,
      (current) => {
        if (current.state !== 'pending') return { refuse: 'decided' };
        const steps = current.steps.map((s, i): Step => {
          const preview = previews[i];
          return preview ? { ...s, preview } : s;
        });
        return { ...current, steps };
      },
      (next) => [requestEntry('previewed', next, 'system')],
    );
    if (result.ok) this.deps.events.emit(result.record, 'previewed');
    return result.ok;
  }
}

/** The change against what the backend reports, with a warning where the backend will round the quota. */
function assess(step: StepTarget, backend: BackendClient, current: NonNullable<StepPreview['current']>) {
  const stored = asStored(step, backend);
  const assessment = ACTION_KINDS[step.action].assess(stored, current);
  const requested = step.params.quotaBytes;
  if (requested !== undefined && formatBytes(stored.params.quotaBytes) !== formatBytes(requested)) {
    const rounding = `${backend.name} stores ${formatBytes(requested)} as ${formatBytes(stored.params.quotaBytes)}`;
    assessment.warning = assessment.warning ? `${assessment.warning}; ${rounding}` : rounding;
  }
  return assessment;
}

function withTimeout<T>(work: Promise<T>, ms: number, failure: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(failure()), ms);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}
