/**
 * The request service against a real SQLite store (temp dir) and an in-test backend that records every call and
 * can be told to fail with a BackendError code, or to hold a call open so two callers overlap.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
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
import { ApprovalPolicy, type ActionPolicy, type Directory } from '../../src/requests/policy.js';
import { RequestService, requestIndexKeys } from '../../src/requests/service.js';
import { REQUEST_ACTIONS, type AccountRequest, type ActionName } from '../../src/requests/types.js';
import { openStore, type AuditEntry, type Store } from '../../src/store/index.js';

const GiB = 1024 ** 3;
const REQUESTER = 'UREQUESTER';
const ADMIN_A = 'UADMINA';
const ADMIN_B = 'UADMINB';
const GROUP_ADMIN = 'UGROUPADMIN';
const T0 = Date.parse('2030-03-01T09:00:00.000Z');
const GENERATED_PASSWORD = 'Gen3rated-Pw!zq81Xk';

interface Call {
  op: string;
  args: unknown[];
}

/** A backend in memory. `failWith` makes the next write throw; `hold` keeps writes open until released. */
class RecordingBackend implements BackendClient {
  readonly calls: Call[] = [];
  readonly users = new Map<string, UserState>();
  failWith: BackendError | Error | undefined;
  failReadsWith: BackendError | undefined;
  private gate: Promise<void> | undefined;
  private openGate: (() => void) | undefined;
  private entered: (() => void) | undefined;

  constructor(
    readonly name: string,
    readonly kind: BackendKind,
    readonly passwordHandling: BackendClient['passwordHandling'],
    readonly capabilities: ReadonlySet<Capability> = new Set<Capability>(['groups', 'delete']),
  ) {}

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
    });
    return { summary: `created ${input.username}` };
  }
  async disableUser(username: string): Promise<ApplyResult> {
    await this.write('disableUser', [username]);
    this.users.set(username, { ...this.existing(username), enabled: false });
    return { summary: `disabled ${username}` };
  }
  async enableUser(username: string): Promise<ApplyResult> {
    await this.write('enableUser', [username]);
    this.users.set(username, { ...this.existing(username), enabled: true });
    return { summary: `enabled ${username}` };
  }
  async setQuota(username: string, quotaBytes: number | null): Promise<ApplyResult> {
    await this.write('setQuota', [username, quotaBytes]);
    this.users.set(username, { ...this.existing(username), quota: { limitBytes: this.storedQuota(quotaBytes) } });
    return { summary: `quota of ${username} set` };
  }
  async deleteUser(username: string): Promise<ApplyResult> {
    await this.write('deleteUser', [username]);
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
  private async write(op: string, args: unknown[]): Promise<void> {
    this.calls.push({ op, args });
    this.entered?.();
    if (this.gate) await this.gate;
    const failure = this.failWith;
    if (failure) {
      this.failWith = undefined;
      throw failure;
    }
  }
}

class FakeDirectory implements Directory {
  membersOf(groupId: string): Promise<string[]> {
    return Promise.resolve(groupId === 'SADMINS' ? [GROUP_ADMIN] : []);
  }
}

function actionPolicies(
  overrides: Partial<Record<ActionName, Partial<ActionPolicy>>> = {},
): Record<ActionName, ActionPolicy> {
  return Object.fromEntries(
    REQUEST_ACTIONS.map((a) => [
      a,
      { enabled: a !== 'enable', approvals: 1, expiresAfterMs: 72 * 3_600_000, rules: [], ...overrides[a] },
    ]),
  ) as Record<ActionName, ActionPolicy>;
}

interface World {
  service: RequestService;
  store: Store;
  dir: string;
  cloud: RecordingBackend;
  nas: RecordingBackend;
  oidc: RecordingBackend;
  delivered: { request: AccountRequest; password: string }[];
  logLines: string[];
  clock: { now: number };
  audit(): Promise<AuditEntry[]>;
}

let world: World;

beforeEach(async () => {
  const dir = mkdtempSync(join(tmpdir(), 'accountdesk-service-'));
  const store = await openStore(`sqlite://${join(dir, 'x.sqlite')}`);
  const cloud = new RecordingBackend('cloud', 'nextcloud', 'invitation');
  const nas = new RecordingBackend('nas', 'synology', 'show-to-requester', new Set<Capability>(['groups']));
  const oidc = new RecordingBackend('sso', 'nmcuser_oidc', 'identity-provider', new Set<Capability>());
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
      actions: actionPolicies({ quota: { rules: [{ quotaAboveBytes: 100 * GiB, approvals: 2 }] } }),
    },
    new FakeDirectory(),
  );
  const service = new RequestService({
    requests: store.records<AccountRequest>('requests', requestIndexKeys),
    audit: store.audit,
    backends: new Map<string, BackendClient>([
      ['cloud', cloud],
      ['nas', nas],
      ['sso', oidc],
    ]),
    policy,
    deliverPassword: (request, password) => {
      delivered.push({ request, password });
      return Promise.resolve();
    },
    logger,
    clock: () => new Date(clock.now),
    generatePassword: () => GENERATED_PASSWORD,
    interruptedAfterMs: 5 * 60_000,
  });
  world = {
    service,
    store,
    dir,
    cloud,
    nas,
    oidc,
    delivered,
    logLines,
    clock,
    audit: () => store.audit.readAfter(0, 1000),
  };
});

afterEach(async () => {
  await world.store.close();
  rmSync(world.dir, { recursive: true, force: true });
});

async function submitOk(
  draft: Parameters<RequestService['submit']>[0],
  requester = REQUESTER,
): Promise<AccountRequest> {
  const result = await world.service.submit(draft, requester);
  if (!result.ok) throw new Error(`submit refused: ${result.message}`);
  return result.request;
}

async function approvedQuota(username = 'alice', quota = '50GB'): Promise<AccountRequest> {
  const request = await submitOk({ action: 'quota', backend: 'cloud', username, quota });
  const vote = await world.service.approve(request.id, ADMIN_A);
  if (!vote.ok || !vote.complete) throw new Error('expected a complete approval');
  return vote.request;
}

async function events(subject: string): Promise<string[]> {
  return (await world.audit()).filter((e) => e.subject === subject).map((e) => e.event);
}

describe('submit', () => {
  it('stores a pending request with the policy applied and records "requested"', async () => {
    const request = await submitOk({
      action: 'quota',
      backend: 'cloud',
      username: ' alice ',
      quota: '50GB',
      reason: 'project X',
    });
    expect(request).toMatchObject({
      state: 'pending',
      action: 'quota',
      backend: 'cloud',
      username: 'alice',
      params: { quotaBytes: 50 * GiB },
      reason: 'project X',
      requester: REQUESTER,
      approvalsRequired: 1,
      approvals: [],
      createdAt: new Date(T0).toISOString(),
      expiresAt: new Date(T0 + 72 * 3_600_000).toISOString(),
    });
    expect(request.id).toMatch(/^AD-[2-9A-HJKMNP-Z]{6}$/);
    expect(await world.service.get(request.id.toLowerCase())).toMatchObject({ id: request.id, state: 'pending' });
    expect(await world.service.listPending()).toEqual([expect.objectContaining({ id: request.id })]);
    expect(await events(request.id)).toEqual(['requested']);
    expect(world.cloud.calls).toEqual([]); // nothing touches a backend before approval
  });

  it('refuses an unknown backend and lists the known ones', async () => {
    const result = await world.service.submit({ action: 'disable', backend: 'clod', username: 'alice' }, REQUESTER);
    expect(result).toMatchObject({ ok: false, code: 'invalid', field: 'backend' });
    if (!result.ok) expect(result.message).toBe('There is no backend named "clod". Known: cloud, nas, sso.');
  });

  it('refuses an action the policy turned off', async () => {
    const result = await world.service.submit({ action: 'enable', backend: 'cloud', username: 'alice' }, REQUESTER);
    expect(result).toMatchObject({ ok: false, code: 'invalid', field: 'action' });
    if (!result.ok) expect(result.message).toMatch(/"enable" requests are turned off/);
  });

  it('refuses an action the backend cannot do', async () => {
    const result = await world.service.submit({ action: 'delete', backend: 'nas', username: 'alice' }, REQUESTER);
    expect(result).toMatchObject({ ok: false, field: 'action' });
    if (!result.ok)
      expect(result.message).toBe('nas (synology) does not support "delete" requests. Backends that do: cloud.');
  });

  it('needs an email to create a user on an invitation (Nextcloud) backend', async () => {
    const result = await world.service.submit({ action: 'create', backend: 'cloud', username: 'bob' }, REQUESTER);
    expect(result).toMatchObject({ ok: false, code: 'invalid', field: 'email' });
    if (!result.ok) expect(result.message).toMatch(/email address is required.*invitation/);
  });

  it('refuses a bad quota, a bad email and a bad username with the field at fault', async () => {
    expect(
      await world.service.submit({ action: 'quota', backend: 'cloud', username: 'alice', quota: '2 PB' }, REQUESTER),
    ).toMatchObject({ ok: false, field: 'quota' });
    expect(
      await world.service.submit({ action: 'quota', backend: 'cloud', username: 'alice' }, REQUESTER),
    ).toMatchObject({ ok: false, field: 'quota' });
    expect(
      await world.service.submit({ action: 'create', backend: 'cloud', username: 'bob', email: 'bob@' }, REQUESTER),
    ).toMatchObject({ ok: false, field: 'email' });
    expect(
      await world.service.submit({ action: 'disable', backend: 'cloud', username: 'bad/name' }, REQUESTER),
    ).toMatchObject({ ok: false, field: 'username' });
    expect(
      await world.service.submit(
        { action: 'disable', backend: 'cloud', username: 'alice', reason: 'r'.repeat(501) },
        REQUESTER,
      ),
    ).toMatchObject({ ok: false, field: 'reason' });
    expect(
      await world.service.submit({ action: 'create', backend: 'sso', username: 'bob', groups: ['staff'] }, REQUESTER),
    ).toMatchObject({ ok: false, field: 'groups' });
    expect(await world.service.listPending()).toEqual([]);
  });

  it('applies the content rule: a quota above 100 GB (or unlimited) needs 2 approvals', async () => {
    expect(
      (await submitOk({ action: 'quota', backend: 'cloud', username: 'a', quota: '100GB' })).approvalsRequired,
    ).toBe(1);
    expect(
      (await submitOk({ action: 'quota', backend: 'cloud', username: 'b', quota: '200GB' })).approvalsRequired,
    ).toBe(2);
    expect(
      (await submitOk({ action: 'quota', backend: 'cloud', username: 'c', quota: 'unlimited' })).approvalsRequired,
    ).toBe(2);
  });
});

describe('approve, reject, cancel', () => {
  it('completes at the threshold, one vote per approver, never the requester', async () => {
    const request = await submitOk({ action: 'quota', backend: 'cloud', username: 'alice', quota: '200GB' });

    expect(await world.service.approve(request.id, REQUESTER)).toMatchObject({ ok: false, code: 'self_approval' });
    expect(await world.service.approve(request.id, 'UNOBODY')).toMatchObject({ ok: false, code: 'not_approver' });

    const first = await world.service.approve(request.id, ADMIN_A);
    expect(first).toMatchObject({
      ok: true,
      complete: false,
      request: { state: 'pending', approvals: [{ by: ADMIN_A }] },
    });
    expect(await world.service.approve(request.id, ADMIN_A)).toMatchObject({ ok: false, code: 'already_voted' });

    const second = await world.service.approve(request.id, GROUP_ADMIN); // an approver through the user group
    expect(second).toMatchObject({ ok: true, complete: true, request: { state: 'approved' } });
    expect(await world.service.approve(request.id, ADMIN_B)).toMatchObject({ ok: false, code: 'already_decided' });

    const approvals = (await world.audit()).filter((e) => e.event === 'approved');
    expect(approvals.map((e) => [e.actor, e.data.approvals, e.data.required, e.data.complete])).toEqual([
      [ADMIN_A, 1, 2, false],
      [GROUP_ADMIN, 2, 2, true],
    ]);
    expect(world.cloud.writes()).toEqual([]); // approving alone never calls the backend
  });

  it('a destructive action needs the username typed exactly', async () => {
    const request = await submitOk({ action: 'disable', backend: 'cloud', username: 'alice' });
    const none = await world.service.approve(request.id, ADMIN_A);
    expect(none).toMatchObject({ ok: false, code: 'confirmation_mismatch', field: 'confirmation' });
    if (!none.ok) expect(none.message).toMatch(/type its username exactly: alice/);
    expect(await world.service.approve(request.id, ADMIN_A, 'alicE')).toMatchObject({
      ok: false,
      code: 'confirmation_mismatch',
    });
    expect(await world.service.approve(request.id, ADMIN_A, ' alice ')).toMatchObject({ ok: true, complete: true });
  });

  it('reject needs a reason and an approver, and stores who and why', async () => {
    const request = await submitOk({ action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    expect(await world.service.reject(request.id, ADMIN_A, '   ')).toMatchObject({
      ok: false,
      code: 'reason_required',
      field: 'reason',
    });
    expect(await world.service.reject(request.id, 'UNOBODY', 'no')).toMatchObject({ ok: false, code: 'not_approver' });
    const rejected = await world.service.reject(request.id, ADMIN_B, 'budget is frozen');
    expect(rejected).toMatchObject({
      ok: true,
      request: { state: 'rejected', decision: { by: ADMIN_B, reason: 'budget is frozen' } },
    });
    expect(await world.service.approve(request.id, ADMIN_A)).toMatchObject({ ok: false, code: 'already_decided' });
    expect(await events(request.id)).toEqual(['requested', 'rejected']);
  });

  it('only the requester cancels a pending request', async () => {
    const request = await submitOk({ action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    expect(await world.service.cancel(request.id, ADMIN_A)).toMatchObject({ ok: false, code: 'not_requester' });
    expect(await world.service.cancel(request.id, REQUESTER)).toMatchObject({
      ok: true,
      request: { state: 'cancelled', decision: { by: REQUESTER } },
    });
    expect(await world.service.cancel(request.id, REQUESTER)).toMatchObject({ ok: false, code: 'already_decided' });
    expect(await world.service.listPending()).toEqual([]);
  });

  it('an approver may give up on a failed request', async () => {
    const request = await approvedQuota();
    world.cloud.failWith = new BackendError('cloud', 'invalid_input', 'Nextcloud refused the quota.');
    await world.service.apply(request.id);
    expect(await world.service.cancel(request.id, 'UNOBODY')).toMatchObject({ ok: false, code: 'not_requester' });
    expect(await world.service.cancel(request.id, ADMIN_B)).toMatchObject({
      ok: true,
      request: { state: 'cancelled' },
    });
  });

  it('answers not_found for an unknown id', async () => {
    expect(await world.service.approve('AD-NOPE22', ADMIN_A)).toMatchObject({ ok: false, code: 'not_found' });
    expect(await world.service.apply('AD-NOPE22')).toMatchObject({ ok: false, code: 'not_found' });
  });
});

describe('apply and retry', () => {
  it('claims once: two concurrent apply() calls reach the backend exactly once', async () => {
    const request = await approvedQuota();
    const inside = world.cloud.hold();
    const first = world.service.apply(request.id);
    await inside; // the first apply is inside the backend call
    const second = await world.service.apply(request.id);
    expect(second).toMatchObject({ ok: false, code: 'already_decided' });
    if (!second.ok) expect(second.message).toMatch(/being applied right now/);
    world.cloud.release();
    expect(await first).toMatchObject({
      ok: true,
      request: { state: 'applied', attempts: 1, result: { summary: 'quota of alice set' } },
    });
    expect(world.cloud.writes()).toEqual([{ op: 'setQuota', args: ['alice', 50 * GiB] }]);
  });

  it('two apply() calls started together still call the backend once', async () => {
    const request = await approvedQuota();
    const results = await Promise.all([world.service.apply(request.id), world.service.apply(request.id)]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(world.cloud.writes()).toHaveLength(1);
  });

  it('a failure is stored with the backend message; Retry applies it; events are in order', async () => {
    const request = await approvedQuota();
    world.cloud.failWith = new BackendError('cloud', 'unavailable', 'cloud is in maintenance mode; try again later.');
    const failed = await world.service.apply(request.id);
    expect(failed).toMatchObject({
      ok: true,
      request: {
        state: 'failed',
        attempts: 1,
        error: { code: 'unavailable', message: 'cloud is in maintenance mode; try again later.', retryable: true },
      },
    });
    expect(await world.service.retry(request.id, 'UNOBODY')).toMatchObject({ ok: false, code: 'not_approver' });
    const retried = await world.service.retry(request.id, ADMIN_B);
    expect(retried).toMatchObject({ ok: true, request: { state: 'applied', attempts: 2 } });
    if (retried.ok) expect(retried.request.error).toBeUndefined();
    expect(world.cloud.writes()).toHaveLength(2);
    expect(await events(request.id)).toEqual(['requested', 'approved', 'failed', 'retried', 'applied']);
    const audit = (await world.audit()).filter((e) => e.subject === request.id);
    expect(audit.find((e) => e.event === 'failed')?.data).toMatchObject({
      code: 'unavailable',
      error: 'cloud is in maintenance mode; try again later.',
    });
    expect(audit.find((e) => e.event === 'retried')).toMatchObject({ actor: ADMIN_B, data: { attempt: 2 } });
    expect(await world.store.audit.verify()).toMatchObject({ ok: true });
  });

  it('an unexpected error is stored in admin words, not the exception text', async () => {
    const request = await approvedQuota();
    world.cloud.failWith = new TypeError('Cannot read properties of undefined (reading "ocs")');
    const failed = await world.service.apply(request.id);
    expect(failed).toMatchObject({
      ok: true,
      request: { state: 'failed', error: { code: 'unexpected', retryable: true } },
    });
    if (failed.ok)
      expect(failed.request.error?.message).toMatch(/Unexpected error in AccountDesk \(TypeError\).*Retry/);
  });

  it('retry of a request that is not failed is refused', async () => {
    const request = await approvedQuota();
    await world.service.apply(request.id);
    expect(await world.service.retry(request.id, ADMIN_A)).toMatchObject({ ok: false, code: 'already_decided' });
    expect(world.cloud.writes()).toHaveLength(1);
  });

  it('a pending request cannot be applied', async () => {
    const request = await submitOk({ action: 'quota', backend: 'cloud', username: 'alice', quota: '200GB' });
    expect(await world.service.apply(request.id)).toMatchObject({ ok: false, code: 'already_decided' });
    expect(world.cloud.writes()).toEqual([]);
  });
});

describe('generated passwords', () => {
  it(
    'reach deliverPassword for a show-to-requester backend and appear nowhere in the store, ' + 'audit log or logs',
    async () => {
      const request = await submitOk({
        action: 'create',
        backend: 'nas',
        username: 'bob',
        quota: '10GB',
        groups: ['staff'],
      });
      await world.service.approve(request.id, ADMIN_A);
      const applied = await world.service.apply(request.id);
      expect(applied).toMatchObject({ ok: true, request: { state: 'applied' } });

      expect(world.delivered).toHaveLength(1);
      expect(world.delivered[0]).toMatchObject({ request: { id: request.id }, password: GENERATED_PASSWORD });
      expect(world.nas.writes()).toEqual([
        {
          op: 'createUser',
          args: [
            expect.objectContaining({
              username: 'bob',
              password: GENERATED_PASSWORD,
              quotaBytes: 10 * GiB,
              groups: ['staff'],
            }),
          ],
        },
      ]);

      expect(JSON.stringify(await world.service.get(request.id))).not.toContain(GENERATED_PASSWORD);
      expect(JSON.stringify(await world.audit())).not.toContain(GENERATED_PASSWORD);
      expect(world.logLines.join('')).not.toContain(GENERATED_PASSWORD);
      await world.store.close();
      const files = readdirSync(world.dir).map((file) => readFileSync(join(world.dir, file)));
      // Control: the raw files are searchable (they do hold the request), so the absence below means something.
      expect(files.some((bytes) => bytes.includes(request.id))).toBe(true);
      for (const bytes of files) expect(bytes.includes(GENERATED_PASSWORD)).toBe(false);
    },
  );

  it('are not generated for an invitation backend or an identity-provider backend', async () => {
    for (const backend of ['cloud', 'sso'] as const) {
      const request = await submitOk({ action: 'create', backend, username: 'carol', email: 'carol@example.com' });
      await world.service.approve(request.id, ADMIN_A);
      await world.service.apply(request.id);
    }
    expect((world.cloud.writes()[0]?.args[0] as CreateUserInput).password).toBeUndefined();
    expect((world.oidc.writes()[0]?.args[0] as CreateUserInput).password).toBeUndefined();
    expect(world.delivered).toEqual([]);
  });

  it('are not delivered when the create failed', async () => {
    const request = await submitOk({ action: 'create', backend: 'nas', username: 'dave' });
    await world.service.approve(request.id, ADMIN_A);
    world.nas.failWith = new BackendError('nas', 'password_policy', 'DSM says the password is not strong enough.');
    expect(await world.service.apply(request.id)).toMatchObject({
      ok: true,
      request: { state: 'failed', error: { code: 'password_policy', retryable: false } },
    });
    expect(world.delivered).toEqual([]);
  });
});

describe('expireDue', () => {
  it('expires pending requests past their expiry, and only those', async () => {
    const old = await submitOk({ action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    world.clock.now = T0 + 48 * 3_600_000;
    const fresh = await submitOk({ action: 'quota', backend: 'cloud', username: 'bob', quota: '50GB' });
    world.clock.now = T0 + 72 * 3_600_000; // exactly the first one's expiry
    const expired = await world.service.expireDue();
    expect(expired.map((r) => r.id)).toEqual([old.id]);
    expect(expired[0]).toMatchObject({
      state: 'expired',
      decision: { by: 'system', reason: 'no decision before the expiry' },
    });
    expect((await world.service.listPending()).map((r) => r.id)).toEqual([fresh.id]);
    expect(await events(old.id)).toEqual(['requested', 'expired']);
    expect(await world.service.approve(old.id, ADMIN_A)).toMatchObject({ ok: false, code: 'already_decided' });
  });
});

describe('recover after a crash', () => {
  /** Claims a request (state applying) the way a process does just before it dies mid-call. */
  async function interruptedApply(request: AccountRequest): Promise<void> {
    const requests = world.store.records<AccountRequest>('requests', requestIndexKeys);
    const claimed = await requests.update<string>(request.id, (current) => ({
      ...current,
      state: 'applying',
      applyingSince: new Date(world.clock.now).toISOString(),
      attempts: 1,
    }));
    expect(claimed.ok).toBe(true);
  }

  it('an old applying request whose change is in place becomes applied, by READING the backend', async () => {
    const request = await approvedQuota('alice', '50GB');
    await interruptedApply(request);
    world.cloud.users.set('alice', { userId: 'alice', exists: true, enabled: true, quota: { limitBytes: 50 * GiB } });
    world.clock.now += 10 * 60_000;
    const { reconciled, applied } = await world.service.recover();
    expect(reconciled).toEqual([expect.objectContaining({ id: request.id, state: 'applied' })]);
    expect(reconciled[0]?.result?.summary).toMatch(/confirmed by reading cloud after AccountDesk restarted/);
    expect(applied).toEqual([]);
    expect(world.cloud.calls).toEqual([{ op: 'getUser', args: ['alice'] }]); // read, never re-sent
    const last = (await world.audit()).at(-1);
    expect(last).toMatchObject({ event: 'applied', subject: request.id, data: { recovered: true } });
  });

  it('an old applying request whose change is not in place becomes failed with a Retry message', async () => {
    const request = await approvedQuota('alice', '50GB');
    await interruptedApply(request);
    world.cloud.users.set('alice', { userId: 'alice', exists: true, quota: { limitBytes: 10 * GiB } });
    world.clock.now += 10 * 60_000;
    const { reconciled } = await world.service.recover();
    expect(reconciled).toHaveLength(1);
    expect(reconciled[0]).toMatchObject({ state: 'failed', error: { code: 'interrupted', retryable: true } });
    expect(reconciled[0]?.error?.message).toMatch(/does not show the change in place\. Retry to apply it\./);
    expect(world.cloud.writes()).toEqual([]);
    expect(await world.service.retry(request.id, ADMIN_A)).toMatchObject({ ok: true, request: { state: 'applied' } });
  });

  it('an old applying request whose backend cannot be read becomes failed, asking for a check by hand', async () => {
    const request = await approvedQuota('alice', '50GB');
    await interruptedApply(request);
    world.cloud.failReadsWith = new BackendError('cloud', 'timeout', 'cloud did not answer within 10 s.');
    world.clock.now += 10 * 60_000;
    const { reconciled } = await world.service.recover();
    expect(reconciled[0]?.error?.message).toMatch(
      /could not check cloud \(cloud did not answer within 10 s\.\)\. Check the account by hand/,
    );
    expect(world.cloud.writes()).toEqual([]);
  });

  it('leaves a fresh applying request alone: another replica may still be applying it', async () => {
    const request = await approvedQuota();
    await interruptedApply(request);
    world.clock.now += 60_000;
    expect(await world.service.recover()).toEqual({ reconciled: [], applied: [] });
    expect(world.cloud.calls).toEqual([]);
    expect((await world.service.get(request.id))?.state).toBe('applying');
  });

  it('applies an approved request nobody claimed', async () => {
    const request = await approvedQuota();
    const { reconciled, applied } = await world.service.recover();
    expect(reconciled).toEqual([]);
    expect(applied).toEqual([expect.objectContaining({ id: request.id, state: 'applied' })]);
    expect(world.cloud.writes()).toEqual([{ op: 'setQuota', args: ['alice', 50 * GiB] }]);
  });
});

describe('preview and info', () => {
  it('shows the live state beside the change, with blocker and no-op flags', async () => {
    const disable = await submitOk({ action: 'disable', backend: 'cloud', username: 'ghost' });
    expect(await world.service.preview(disable)).toMatchObject({
      current: { exists: false },
      assessment: { blocker: 'user does not exist' },
    });
    world.cloud.users.set('alice', {
      userId: 'alice',
      exists: true,
      enabled: true,
      quota: { limitBytes: 10 * GiB, usedBytes: 60 * GiB },
    });
    const quota = await submitOk({ action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' });
    const preview = await world.service.preview(quota);
    expect(preview).toMatchObject({ assessment: { change: 'quota 10 GB → 50 GB' } });
    expect('assessment' in preview && preview.assessment?.warning).toMatch(/already stores 60 GB/);
    world.cloud.failReadsWith = new BackendError(
      'cloud',
      'auth_failed',
      'cloud refused the app password; fix NC_PASS.',
    );
    expect(await world.service.preview(quota)).toEqual({ error: 'cloud refused the app password; fix NC_PASS.' });
  });

  it('lets approvers only look an account up', async () => {
    expect(await world.service.info('cloud', 'alice', REQUESTER)).toMatchObject({ ok: false, code: 'not_approver' });
    expect(await world.service.info('cloud', 'alice', ADMIN_A)).toMatchObject({ ok: true, state: { exists: false } });
    expect(await world.service.info('nope', 'alice', ADMIN_A)).toMatchObject({
      ok: false,
      code: 'invalid',
      field: 'backend',
    });
  });
});

describe('review fixes: retry, rounding, expiry, open lists, shutdown', () => {
  it(
    'Retry of a failed request whose change did happen after all marks it ' + 'applied without sending it again',
    async () => {
      const request = await approvedQuota('alice', '50GB');
      world.cloud.users.set('alice', { userId: 'alice', exists: true, enabled: true });
      // The write reached the server but its answer was lost: the backend holds the new quota, the request failed.
      const held = world.cloud.hold();
      const applying = world.service.apply(request.id);
      await held;
      world.cloud.users.set('alice', { userId: 'alice', exists: true, enabled: true, quota: { limitBytes: 50 * GiB } });
      world.cloud.failWith = new BackendError('cloud', 'timeout', 'cloud did not answer in time');
      world.cloud.release();
      expect((await applying).ok && (await world.service.get(request.id))?.state).toBe('failed');
      const writesBefore = world.cloud.writes().length;

      const retried = await world.service.retry(request.id, ADMIN_B);
      expect(retried.ok && retried.request.state).toBe('applied');
      expect(retried.ok && retried.request.result?.summary).toMatch(/already in place when retried/);
      expect(world.cloud.writes().length).toBe(writesBefore);
      expect(await events(request.id)).toEqual(['requested', 'approved', 'failed', 'retried', 'applied']);
    },
  );

  it('compares quotas the way the backend stores them: a rounded quota already in place is recognised', async () => {
    // Nextcloud stores "1.25 TB" as "1.3 TB".
    const TiB = 1024 ** 4;
    world.cloud.roundQuota = (bytes) => (Math.round((bytes / TiB) * 10) / 10) * TiB;
    world.cloud.users.set('carol', { userId: 'carol', exists: true, enabled: true, quota: { limitBytes: 1.3 * TiB } });
    const request = await submitOk({ action: 'quota', backend: 'cloud', username: 'carol', quota: '1.25 TB' });
    const preview = await world.service.preview(request);
    expect(preview.assessment?.noOp).toBe('the quota is already that');
    expect(preview.assessment?.warning).toBe('cloud stores 1.25 TB as 1.3 TB');
  });

  it('does not bother the approver with a rounding nobody can see (DSM: whole MB)', async () => {
    const MiB = 1024 ** 2;
    world.nas.roundQuota = (bytes) => Math.ceil(bytes / MiB) * MiB;
    world.nas.users.set('dave', { userId: 'dave', exists: true, enabled: true, quota: { limitBytes: 10 * GiB } });
    const request = await submitOk({ action: 'quota', backend: 'nas', username: 'dave', quota: '2.7 GB' });
    expect(world.nas.storedQuota(request.params.quotaBytes!)).not.toBe(request.params.quotaBytes);
    const preview = await world.service.preview(request);
    expect(preview.assessment?.warning).toBeUndefined();
    expect(preview.assessment?.change).toBe('quota 10 GB → 2.7 GB');
  });

  it('an approval after the expiry but before the sweep expires the request instead of approving it', async () => {
    const request = await submitOk({ action: 'disable', backend: 'cloud', username: 'alice' });
    world.clock.now = Date.parse(request.expiresAt) + 1;
    const vote = await world.service.approve(request.id, ADMIN_A, 'alice');
    expect(vote).toMatchObject({ ok: false, code: 'already_decided' });
    expect((await world.service.get(request.id))?.state).toBe('expired');
    expect(world.cloud.writes()).toEqual([]);
    expect(await events(request.id)).toEqual(['requested', 'expired']);
  });

  it('recovery of a DSM create that happened says the one-time password was never shown', async () => {
    const request = await submitOk({ action: 'create', backend: 'nas', username: 'erin', email: 'erin@example.com' });
    await world.service.approve(request.id, ADMIN_A);
    const held = world.nas.hold();
    void world.service.apply(request.id);
    await held; // the process "dies" here: the create reached DSM, nothing was recorded
    world.nas.users.set('erin', { userId: 'erin', exists: true, enabled: true, email: 'erin@example.com' });
    world.clock.now += 10 * 60_000;
    const { reconciled } = await world.service.recover();
    expect(reconciled.map((r) => [r.id, r.state])).toEqual([[request.id, 'applied']]);
    expect(reconciled[0]?.result?.summary).toMatch(/generated password was never shown: reset it on nas/);
    world.nas.release();
  });

  it('lists every open request of a requester, however old', async () => {
    const first = await submitOk({ action: 'disable', backend: 'cloud', username: 'old-one' });
    for (let i = 0; i < 25; i++) {
      const done = await submitOk({ action: 'disable', backend: 'cloud', username: `u${i}` });
      await world.service.cancel(done.id, REQUESTER);
    }
    const open = await world.service.listOpenForRequester(REQUESTER);
    expect(open.map((r) => r.id)).toEqual([first.id]);
  });

  it('check() validates without storing anything', async () => {
    const checked = await world.service.check(
      { action: 'quota', backend: 'cloud', username: 'alice', quota: '50GB' },
      REQUESTER,
    );
    expect(checked).toMatchObject({ ok: true, valid: { username: 'alice', params: { quotaBytes: 50 * GiB } } });
    expect(await world.service.listPending()).toEqual([]);
    expect(await world.audit()).toEqual([]);
  });

  it('idle() waits for an apply in flight', async () => {
    const request = await approvedQuota('frank', '20GB');
    const held = world.cloud.hold();
    const applying = world.service.apply(request.id);
    await held;
    let idle = false;
    const waiting = world.service.idle().then(() => (idle = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(idle).toBe(false);
    world.cloud.release();
    await applying;
    await waiting;
    expect((await world.service.get(request.id))?.state).toBe('applied');
  });
});

describe('recovery knows which process claimed an apply', () => {
  function serviceAs(id: string, alive: string[]): RequestService {
    return new RequestService({
      requests: world.store.records<AccountRequest>('requests', requestIndexKeys),
      audit: world.store.audit,
      backends: new Map<string, BackendClient>([['cloud', world.cloud]]),
      policy: world.service.policy,
      deliverPassword: () => Promise.resolve(),
      logger: createLogger({ level: 'silent' }),
      clock: () => new Date(world.clock.now),
      interruptedAfterMs: 5 * 60_000,
      instance: { id, isAlive: (other) => Promise.resolve(alive.includes(other)) },
    });
  }

  async function claimedBy(owner: string): Promise<AccountRequest> {
    const request = await approvedQuota('alice', '50GB');
    const requests = world.store.records<AccountRequest>('requests', requestIndexKeys);
    const claimed = await requests.update<string>(request.id, (current) => ({
      ...current,
      state: 'applying',
      applyingSince: new Date(world.clock.now).toISOString(),
      applyingBy: owner,
      attempts: 1,
    }));
    if (!claimed.ok) throw new Error('claim failed');
    return claimed.record;
  }

  it('reconciles at once a fresh apply whose process is gone', async () => {
    const request = await claimedBy('instance-crashed');
    world.clock.now += 1_000; // far less than interruptedAfterMs
    const { reconciled } = await serviceAs('instance-me', []).recover();
    expect(reconciled.map((r) => [r.id, r.state])).toEqual([[request.id, 'failed']]);
    expect(reconciled[0]?.error?.message).toMatch(/AccountDesk stopped while applying this/);
    expect(world.cloud.writes()).toEqual([]); // read, never re-sent
  });

  it('leaves alone a fresh apply of a live process, and its own', async () => {
    const live = await claimedBy('instance-live');
    world.clock.now += 1_000;
    expect((await serviceAs('instance-me', ['instance-live']).recover()).reconciled).toEqual([]);
    expect((await serviceAs('instance-live', ['instance-live']).recover()).reconciled).toEqual([]);
    expect((await world.service.get(live.id))?.state).toBe('applying');
  });

  it('a claim records the process that made it, and clears it when settled', async () => {
    const request = await approvedQuota('bob', '20GB');
    const held = world.cloud.hold();
    const applying = serviceAs('instance-me', []).apply(request.id);
    await held;
    expect((await world.service.get(request.id))?.applyingBy).toBe('instance-me');
    world.cloud.release();
    await applying;
    const done = await world.service.get(request.id);
    expect(done?.state).toBe('applied');
    expect(done?.applyingBy).toBeUndefined();
  });
});

describe('Retry after a definite refusal', () => {
  it(
    'does not take an existing account for its own: a create refused as ' +
      '"already exists" is sent again and fails again',
    async () => {
      const request = await submitOk({ action: 'create', backend: 'nas', username: 'bob' });
      await world.service.approve(request.id, ADMIN_A);
      world.nas.users.set('bob', { userId: 'bob', exists: true, enabled: true }); // someone else's bob
      world.nas.failWith = new BackendError('nas', 'already_exists', 'nas: a user named bob already exists');
      const first = await world.service.apply(request.id);
      expect(first.ok && first.request.state).toBe('failed');

      world.nas.failWith = new BackendError('nas', 'already_exists', 'nas: a user named bob already exists');
      const retried = await world.service.retry(request.id, ADMIN_B);
      expect(retried.ok && retried.request.state).toBe('failed');
      expect(retried.ok && retried.request.error?.code).toBe('already_exists');
      expect(world.nas.writes().map((c) => c.op)).toEqual(['createUser', 'createUser']);
      expect(world.delivered).toEqual([]); // no password for an account AccountDesk did not create
    },
  );

  it('a create found in place on Retry after a lost answer says the password was never shown', async () => {
    const request = await submitOk({ action: 'create', backend: 'nas', username: 'carl' });
    await world.service.approve(request.id, ADMIN_A);
    world.nas.failWith = new BackendError('nas', 'timeout', 'nas did not answer in time');
    await world.service.apply(request.id); // DSM made the account; its answer was lost
    world.nas.users.set('carl', { userId: 'carl', exists: true, enabled: true });
    const retried = await world.service.retry(request.id, ADMIN_B);
    expect(retried.ok && retried.request.state).toBe('applied');
    expect(retried.ok && retried.request.result?.summary).toMatch(
      /already in place when retried.*generated password was never shown: reset it on nas/,
    );
  });
});
