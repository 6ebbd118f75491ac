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

  async listOpen(): Promise<AccountRequest[]> {
    const lists = await Promise.all(OPEN_STATES.map((s) => this.requests.listByIndex(`state:${s}`)));
    return lists.flat();
  }

  /** The requester's requests that still need someone, oldest first. */
  async listOpenForRequester(user: ActorId): Promise<AccountRequest[]> {
    return (await this.listForRequester(user, 200)).filter((r) => OPEN_STATES.includes(r.state)).reverse();
  }

  /** The requester's newest requests, newest first. */
  async listForRequester(user: ActorId, limit = 20): Promise<AccountRequest[]> {
    const all = await this.requests.listByIndex(`requester:${user}`);
    return all.slice(-limit).reverse();
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
