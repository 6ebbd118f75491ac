/**
 * The domain's front door: builds the request modules around one store collection and one set of backends.
 *
 *   plans.ts      what a person typed -> a checked plan of steps (single, onboard, offboard)
 *   decisions.ts  submit, approve, reject, cancel, expire: each one commit of state + audit entry
 *   engine.ts     runs approved steps on backends, paced, exactly once; recovery and Retry
 *   previews.ts   the live read of each step's backend for the approval card, stored with the request
 *   queries.ts    status, lists, `/account info`
 *   schedules.ts  scheduled steps: what is coming, an approver's cancel, the notice before one runs
 *   reminders.ts  when an undecided request's approvers are reminded, and when it is escalated
 *   lifecycle.ts  the state machine every module asks
 */
import type { Logger } from 'pino';
import { BatchControls } from './batch-controls.js';
import type { BackendClient } from '../backends/types.js';
import type { RecordStore } from '../store/types.js';
import { Decisions } from './decisions.js';
import { ApplyEngine, type EngineDeps } from './engine.js';
import { RequestEvents } from './events.js';
import type { PaceSettings } from './pacing.js';
import { PlanBuilder, type Profiles } from './plans.js';
import type { ApprovalPolicy } from './policy.js';
import { Previews } from './previews.js';
import { Queries } from './queries.js';
import { Reminders } from './reminders.js';
import { Schedules } from './schedules.js';
import type { AccountRequest } from './types.js';

export interface RequestDeskDeps {
  requests: RecordStore<AccountRequest>;
  backends: ReadonlyMap<string, BackendClient>;
  policy: ApprovalPolicy;
  profiles?: Profiles;
  pacing?: Record<string, PaceSettings>;
  deliverPassword: EngineDeps['deliverPassword'];
  logger: Logger;
  clock?: () => Date;
  newId?: () => string;
  generatePassword?: () => string;
  interruptedAfterMs?: number;
  instance?: EngineDeps['instance'];
  previewTimeoutMs?: number;
  /** The most rows one batch takes (default MAX_BATCH_ROWS in batch.ts). */
  maxBatchRows?: number;
}

export interface RequestDesk {
  plans: PlanBuilder;
  decisions: Decisions;
  engine: ApplyEngine;
  /** Pause, Resume and Cancel of a running batch (approvers). */
  batches: BatchControls;
  previews: Previews;
  queries: Queries;
  schedules: Schedules;
  events: RequestEvents;
  reminders: Reminders;
}

export function createRequestDesk(deps: RequestDeskDeps): RequestDesk {
  const clock = deps.clock ?? (() => new Date());
  const events = new RequestEvents();
  const plans = new PlanBuilder(deps.backends, deps.policy, deps.profiles ?? {}, clock, deps.maxBatchRows);
  const { requests, backends, logger } = deps;
  const engine = new ApplyEngine({
    requests,
    backends,
    policy: deps.policy,
    events,
    deliverPassword: deps.deliverPassword,
    logger,
    clock,
    generatePassword: deps.generatePassword,
    interruptedAfterMs: deps.interruptedAfterMs,
    instance: deps.instance,
    pacing: deps.pacing,
  });
  return {
    plans,
    events,
    engine,
    batches: new BatchControls({ requests, policy: deps.policy, events, engine, clock }),
    queries: new Queries(requests, plans),
    schedules: new Schedules({ requests, policy: deps.policy, events, clock }),
    decisions: new Decisions({ requests, plans, events, logger, clock, ...(deps.newId ? { newId: deps.newId } : {}) }),
    previews: new Previews({ requests, backends, events, logger, clock, timeoutMs: deps.previewTimeoutMs }),
    reminders: new Reminders({ requests, policy: deps.policy, events, logger, clock }),
  };
}
