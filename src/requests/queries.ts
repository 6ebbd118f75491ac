/** Reading requests and accounts for people: status, lists, App Home and `/account info`. Changes nothing. */
import type { BackendClient, UserState } from '../backends/types.js';
import type { RecordStore } from '../store/types.js';
import { checkUsername } from './fields.js';
import { OPEN_STATES } from './lifecycle.js';
import { backendFailure, invalid, MAX_REQUEST_ID_LENGTH, normaliseId } from './outcomes.js';
import type { PlanBuilder } from './plans.js';
import type { AccountRequest, ActorId, Outcome } from './types.js';

/** A request by the id a person typed (any case, spaces around it); undefined when there is none. */
export function findRequest(requests: RecordStore<AccountRequest>, id: string): Promise<AccountRequest | undefined> {
  const key = normaliseId(id);
  // No id AccountDesk issues is this long, and the store refuses keys over 512 characters: simply not found.
  if (key === '' || key.length > MAX_REQUEST_ID_LENGTH) return Promise.resolve(undefined);
  return requests.get(key);
}

/** One page of a listing, and how many requests the listing holds in all (from the index, without reading them). */
export interface RequestPage {
  requests: AccountRequest[];
  total: number;
}

export class Queries {
  constructor(
    private readonly requests: RecordStore<AccountRequest>,
    private readonly plans: PlanBuilder,
  ) {}

  get(id: string): Promise<AccountRequest | undefined> {
    return findRequest(this.requests, id);
  }

  listPending(limit?: number): Promise<AccountRequest[]> {
    return this.requests.listByIndex('state:pending', limit);
  }

  /** Pending requests, oldest first: `limit` of them from `offset`, and how many are pending in all. */
  async pendingPage(limit: number, offset = 0): Promise<RequestPage> {
    const [requests, total] = await Promise.all([
      this.requests.pageByIndex('state:pending', { limit, offset }),
      this.requests.countByIndex('state:pending'),
    ]);
    return { requests, total };
  }

  async listOpen(): Promise<AccountRequest[]> {
    const lists = await Promise.all(OPEN_STATES.map((s) => this.requests.listByIndex(`state:${s}`)));
    return lists.flat();
  }

  /** The requester's requests that still need someone, oldest first: a page of them, and how many there are. */
  async openForRequester(user: ActorId, limit: number, offset = 0): Promise<RequestPage> {
    const [requests, total] = await Promise.all([
      this.requests.pageByIndex(`open-by:${user}`, { limit, offset }),
      this.requests.countByIndex(`open-by:${user}`),
    ]);
    return { requests, total };
  }

  /** The requester's newest requests, newest first: a page, and how many they have asked for in all. */
  async requesterPage(user: ActorId, limit: number): Promise<RequestPage> {
    const [requests, total] = await Promise.all([
      this.requests.pageByIndex(`requester:${user}`, { limit, newestFirst: true }),
      this.requests.countByIndex(`requester:${user}`),
    ]);
    return { requests, total };
  }

  /** The requester's newest requests, newest first. */
  async listForRequester(user: ActorId, limit = 20): Promise<AccountRequest[]> {
    return this.requests.pageByIndex(`requester:${user}`, { limit, newestFirst: true });
  }

  /**
   * Lists open requests written before `open-by:<requester>` existed under that key too (once per start; costs
   * one commit per 500 open requests of each state).
   */
  async repairIndexes(): Promise<void> {
    for (const state of OPEN_STATES) await this.requests.repairIndex(`state:${state}`);
  }

  /** A user's current state, for approvers only (`/account info`). */
  async info(
    backendName: string,
    username: string,
    actor: ActorId,
  ): Promise<Outcome<{ state: UserState; backend: BackendClient }, 'not_approver' | 'invalid' | 'backend_error'>> {
    if (!(await this.plans.policy.isApprover(actor))) {
      return { ok: false, code: 'not_approver', message: 'Only approvers can look up accounts.' };
    }
    const backend = this.plans.backend(backendName);
    if (!backend) {
      return invalid(
        'backend',
        `There is no backend named "${backendName}". Known: ${this.plans.backendNames().join(', ')}.`,
      );
    }
    const name = checkUsername(backend, username);
    if (!name.ok) return invalid('username', name.message);
    try {
      return { ok: true, state: await backend.getUser(name.value), backend };
    } catch (err) {
      return { ok: false, code: 'backend_error', message: backendFailure(err).message };
    }
  }
}
