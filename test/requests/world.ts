/**
 * The world the request-module tests run in: a real SQLite store (temp dir), the real request desk
 * (createRequestDesk) and in-test backends that record every call and can be told to fail with a BackendError
 * code, or to hold a write open so two callers overlap.
 */
import { nextcloudUsernameProblem } from '../../src/backends/nextcloud/usernames.js';
import { oidcSubjectProblem } from '../../src/backends/nextcloud-oidc/usernames.js';
import { dsmUsernameProblem } from '../../src/backends/synology/usernames.js';
import { afterEach, beforeEach } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import {
  BackendError,
  type ApplyResult,
  type BackendClient,
  type BackendKind,
  type Capability,
  type CreateUserInput,
  type UserState,
} from '../../src/backends/types.js';
import { createLogger } from '../../src/log.js';
import { Decisions } from '../../src/requests/decisions.js';
import { RequestEvents } from '../../src/requests/events.js';
import { createRequestDesk, type RequestDesk, type RequestDeskDeps } from '../../src/requests/index.js';
import { requestIndexKeys } from '../../src/requests/lifecycle.js';
import type { RequestDraft } from '../../src/requests/plans.js';
import { ApprovalPolicy, type ActionPolicy, type ContentRule, type Directory } from '../../src/requests/policy.js';
import { POLICY_NAMES, type AccountRequest, type PolicyName, type Step } from '../../src/requests/types.js';
import { openStore, type AuditEntry, type RecordStore, type Store } from '../../src/store/index.js';

export const GiB = 1024 ** 3;
export const REQUESTER = 'UREQUESTER';
export const ADMIN_A = 'UADMINA';
export const ADMIN_B = 'UADMINB';
export const GROUP_ADMIN = 'UGROUPADMIN';
export const T0 = Date.parse('2030-03-01T09:00:00.000Z');
export const GENERATED_PASSWORD = 'Gen3rated-Pw!zq81Xk';

export interface Call {
  op: string;
  args: unknown[];
}

/** A backend in memory. `failWith` makes the next write throw; `hold` keeps writes open until released. */
export class RecordingBackend implements BackendClient {
  readonly calls: Call[] = [];
  /** When each write started (Date.now()), for pacing checks. */
  readonly writeStarts: number[] = [];
  readonly users = new Map<string, UserState>();
  failWith: BackendError | Error | undefined;
  failReadsWith: BackendError | undefined;
  /** Answer a write about a user that does not exist with not_found, as the real servers do. */
  refuseMissing = false;
  /** How long every write takes, in ms (real time). */
  writeDelayMs = 0;
  /** The most writes this backend had in flight at once. */
  mostWritesAtOnce = 0;
  private writesInFlight = 0;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private entered: (() => void) | undefined;

  constructor(
    readonly name: string,
    readonly kind: BackendKind,
    readonly passwordHandling: BackendClient['passwordHandling'],
    readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['groups', 'delete']),
  ) {}

  /** Like the real clients: a Nextcloud needs an email for its invitation. */
  get emailRequiredBecause(): string | undefined {
    return this.passwordHandling === 'invitation' ? 'it mails the new user an invitation to set a password' : undefined;
  }
  /** The real clients' own username rules, per kind. */
  usernameProblem(name: string): string | undefined {
    const rules = { nextcloud: nextcloudUsernameProblem, synology: dsmUsernameProblem };
    return (this.kind in rules ? rules[this.kind as keyof typeof rules] : oidcSubjectProblem)(name);
  }

  /** Writes wait until release(); resolves once the first write is inside the backend. */
  hold(): Promise<void> {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
    return new Promise((resolve) => (this.entered = resolve));
  }
  release(): void {
    this.openGate?.();
    this.gate = undefined;
  }

  writes(): Call[] {
    return this.calls.filter((c) => c.op !== 'getUser');
  }

  getUser(username: string): Promise<UserState> {
    this.calls.push({ op: 'getUser', args: [username] });
    if (this.failReadsWith) return Promise.reject(this.failReadsWith);
    return Promise.resolve(this.users.get(username) ?? { userId: username, exists: false });
  }
  async createUser(input: CreateUserInput): Promise<ApplyResult> {
    await this.write('createUser', [input]);
    this.users.set(input.username, {
      userId: input.username,
      exists: true,
      enabled: true,
      email: input.email ?? null,
      quota: input.quotaBytes !== undefined ? { limitBytes: input.quotaBytes } : undefined,
      ...(input.groups ? { groups: input.groups } : {}),
    });
    return { summary: `created ${input.username}` };
  }
  async disableUser(username: string): Promise<ApplyResult> {
    await this.write('disableUser', [username], username);
    this.users.set(username, { ...this.existing(username), enabled: false });
    return { summary: `disabled ${username}` };
  }
  async enableUser(username: string): Promise<ApplyResult> {
    await this.write('enableUser', [username], username);
    this.users.set(username, { ...this.existing(username), enabled: true });
    return { summary: `enabled ${username}` };
  }
  async setQuota(username: string, quotaBytes: number | null): Promise<ApplyResult> {
    await this.write('setQuota', [username, quotaBytes], username);
    this.users.set(username, { ...this.existing(username), quota: { limitBytes: this.storedQuota(quotaBytes) } });
    return { summary: `quota of ${username} set` };
  }
  async deleteUser(username: string): Promise<ApplyResult> {
    await this.write('deleteUser', [username], username);
    this.users.delete(username);
    return { summary: `deleted ${username}` };
  }
  /** How the backend rounds a stored quota (Nextcloud: one decimal of a human size; DSM: whole MB). */
  roundQuota: (bytes: number) => number = (bytes) => bytes;
  storedQuota(quotaBytes: number | null): number | null {
    return quotaBytes === null ? null : this.roundQuota(quotaBytes);
  }
  async close(): Promise<void> {}

  private existing(username: string): UserState {
    return this.users.get(username) ?? { userId: username, exists: true, enabled: true };
  }
  private async write(op: string, args: unknown[], subject?: string): Promise<void> {
    this.calls.push({ op, args });
    this.writeStarts.push(Date.now());
    this.entered?.();
    this.writesInFlight++;
    this.mostWritesAtOnce = Math.max(this.mostWritesAtOnce, this.writesInFlight);
    try {
      if (this.gate) await this.gate;
      if (this.writeDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.writeDelayMs));
    } finally {
      this.writesInFlight--;
    }
    const failure = this.failWith;
    if (failure) {
      this.failWith = undefined;
      throw failure;
    }
    if (subject !== undefined && this.refuseMissing && !this.users.get(subject)?.exists) {
      throw new BackendError(this.name, 'not_found', `${this.name}: there is no user ${subject}`);
    }
  }
}

class FakeDirectory implements Directory {
  membersOf(groupId: string): Promise<string[]> {
    return Promise.resolve(groupId === 'SADMINS' ? [GROUP_ADMIN] : []);
  }
}

/** Every action and plan enabled with one approval and 72 h to decide, except `enable` (turned off). */
function actionPolicies(
  overrides: Partial<Record<PolicyName, Partial<ActionPolicy>>> = {},
): Record<PolicyName, ActionPolicy> {
  return Object.fromEntries(
    POLICY_NAMES.map((a) => [
      a,
      { enabled: a !== 'enable', approvals: 1, expiresAfterMs: 72 * 3_600_000, rules: [], ...overrides[a] },
    ]),
  ) as Record<PolicyName, ActionPolicy>;
}

/** A quota above 100 GB (or unlimited) needs two approvals, on a quota change and on a create alike. */
const BIG_QUOTA: ContentRule[] = [{ quotaAboveBytes: 100 * GiB, approvals: 2 }];

export interface WorldOptions {
  policy?: Partial<Record<PolicyName, Partial<ActionPolicy>>>;
  profiles?: RequestDeskDeps['profiles'];
  pacing?: RequestDeskDeps['pacing'];
}

export interface World {
  desk: RequestDesk;
  store: Store;
  requests: RecordStore<AccountRequest>;
  policy: ApprovalPolicy;
  dir: string;
  cloud: RecordingBackend;
  nas: RecordingBackend;
  oidc: RecordingBackend;
  backends: Map<string, BackendClient>;
  delivered: { request: AccountRequest; step: Step; password: string }[];
  logLines: string[];
  clock: { now: number };
  audit(): Promise<AuditEntry[]>;
  /**
   * Another AccountDesk process on the same store file and backends: its own store connection (so its commits
   * really race this one's), its own engine (with `instance`) and events. Used for races between replicas and
   * for recovery by a process that did not claim the step.
   */
  replica(instance?: { id: string; alive: string[] }): Promise<RequestDesk>;
  /** Waits for every replica's engine, then closes their stores. */
  closeReplicas(): Promise<void>;
  /** Decisions of a process that stores an approval and dies before its engine runs anything. */
  decisionsWithoutEngine(): Decisions;
}

async function makeWorld(options: WorldOptions): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), 'accountdesk-requests-'));
  const url = `sqlite://${join(dir, 'x.sqlite')}`;
  const store = await openStore(url);
  const cloud = new RecordingBackend('cloud', 'nextcloud', 'invitation');
  const nas = new RecordingBackend('nas', 'synology', 'show-to-requester', new Set<Capability>(['groups']));
  const oidc = new RecordingBackend('sso', 'nmcuser_oidc', 'identity-provider', new Set<Capability>());
  const backends = new Map<string, BackendClient>([
    ['cloud', cloud],
    ['nas', nas],
    ['sso', oidc],
  ]);
  const clock = { now: T0 };
  const logLines: string[] = [];
  const logger = createLogger({
    level: 'debug',
    destination: new Writable({
      write(chunk, _enc, done) {
        logLines.push(String(chunk));
        done();
      },
    }),
  });
  const delivered: World['delivered'] = [];
  const policy = new ApprovalPolicy(
    {
      approvers: { users: [ADMIN_A, ADMIN_B], groups: ['SADMINS'] },
      actions: actionPolicies({ quota: { rules: BIG_QUOTA }, create: { rules: BIG_QUOTA }, ...options.policy }),
    },
    new FakeDirectory(),
  );
  const requests = store.records<AccountRequest>('requests', requestIndexKeys);
  const deskOf = (on: RecordStore<AccountRequest>, instance?: { id: string; alive: string[] }): RequestDesk =>
    createRequestDesk({
      requests: on,
      backends,
      policy,
      ...(options.profiles ? { profiles: options.profiles } : {}),
      ...(options.pacing ? { pacing: options.pacing } : {}),
      deliverPassword: (request, step, password) => {
        delivered.push({ request, step, password });
        return Promise.resolve();
      },
      logger,
      clock: () => new Date(clock.now),
      generatePassword: () => GENERATED_PASSWORD,
      interruptedAfterMs: 5 * 60_000,
      ...(instance
        ? { instance: { id: instance.id, isAlive: (id) => Promise.resolve(instance.alive.includes(id)) } }
        : {}),
    });
  const desk = deskOf(requests);
  const replicas: { store: Store; desk: RequestDesk }[] = [];
  return {
    desk,
    store,
    requests,
    policy,
    dir,
    cloud,
    nas,
    oidc,
    backends,
    delivered,
    logLines,
    clock,
    audit: () => store.audit.readAfter(0, 1000),
    async replica(instance) {
      const other = await openStore(url);
      const replicaDesk = deskOf(other.records<AccountRequest>('requests', requestIndexKeys), instance);
      replicas.push({ store: other, desk: replicaDesk });
      return replicaDesk;
    },
    async closeReplicas() {
      for (const replica of replicas.splice(0)) {
        await replica.desk.engine.idle();
        await replica.store.close();
      }
    },
    decisionsWithoutEngine: () =>
      new Decisions({
        requests,
        plans: desk.plans,
        events: new RequestEvents(),
        logger,
        clock: () => new Date(clock.now),
      }),
  };
}

/**
 * Registers a fresh world for every test of the file. The returned function gives the current test's world;
 * after each test the engine and previews are left idle before the store closes.
 */
export function useWorld(options: WorldOptions = {}): () => World {
  let world: World | undefined;
  beforeEach(async () => {
    world = await makeWorld(options);
  });
  afterEach(async () => {
    if (!world) return;
    world.cloud.release();
    world.nas.release();
    world.oidc.release();
    await world.desk.engine.idle();
    await world.desk.previews.idle();
    await world.closeReplicas();
    await world.store.close();
    rmSync(world.dir, { recursive: true, force: true });
    world = undefined;
  });
  return () => {
    if (!world) throw new Error('useWorld(): no world outside a test');
    return world;
  };
}

/** Submits and waits for the live preview the submit starts, so later reads and audit entries come in order. */
export async function submitOk(w: World, draft: RequestDraft, requester = REQUESTER): Promise<AccountRequest> {
  const result = await w.desk.decisions.submit(draft, requester);
  if (!result.ok) throw new Error(`submit refused: ${result.message}`);
  await w.desk.previews.idle();
  return (await w.desk.queries.get(result.request.id)) ?? result.request;
}

/** Approves with one vote that completes the count, and waits until the engine has run the steps. */
export async function approveAndApply(
  w: World,
  id: string,
  approver = ADMIN_A,
  confirmation?: string,
): Promise<AccountRequest> {
  const vote = await w.desk.decisions.approve(id, approver, confirmation);
  if (!vote.ok || !vote.complete) throw new Error(`expected a complete approval: ${JSON.stringify(vote)}`);
  await w.desk.engine.idle();
  return (await w.desk.queries.get(id)) as AccountRequest;
}

/** A quota change on cloud approved by another process that died before applying it: approved, nothing ran. */
export async function approvedQuota(w: World, username = 'alice', quota = '50GB'): Promise<AccountRequest> {
  const request = await submitOk(w, { action: 'quota', backend: 'cloud', username, quota });
  const vote = await w.decisionsWithoutEngine().approve(request.id, ADMIN_A);
  if (!vote.ok || !vote.complete) throw new Error('expected a complete approval');
  return vote.request;
}

/** The audit events of one request, in order. */
export async function events(w: World, subject: string): Promise<string[]> {
  return (await w.audit()).filter((e) => e.subject === subject).map((e) => e.event);
}

/** The only step of a one-step plan. */
export function only(request: AccountRequest | undefined): Step {
  const step = request?.steps[0];
  if (!step || request.steps.length !== 1) throw new Error(`expected one step: ${JSON.stringify(request)}`);
  return step;
}

/** Marks step `index` applying the way a process does just before it dies mid-call. */
export async function interruptedApply(
  w: World,
  id: string,
  options: { index?: number; by?: string } = {},
): Promise<AccountRequest> {
  const index = options.index ?? 0;
  const claimed = await w.requests.update<string>(id, (current) => ({
    ...current,
    state: 'applying',
    steps: current.steps.map((s, i): Step =>
      i === index
        ? {
            ...s,
            state: 'applying',
            applyingSince: new Date(w.clock.now).toISOString(),
            ...(options.by ? { applyingBy: options.by } : {}),
            attempts: s.attempts + 1,
          }
        : s,
    ),
  }));
  if (!claimed.ok) throw new Error('claim failed');
  return claimed.record;
}
