import { describe, expect, it } from 'vitest';
import { ApprovalPolicy, type ActionPolicy, type Directory, type PolicySettings } from '../../src/requests/policy.js';
import { POLICY_NAMES, type AccountRequest, type PolicyName } from '../../src/requests/types.js';

const GiB = 1024 ** 3;

/** A Directory fake: fixed group memberships, counts the lookups. */
class FakeDirectory implements Directory {
  lookups: string[] = [];
  constructor(private readonly groups: Record<string, string[]>) {}
  membersOf(groupId: string): Promise<string[]> {
    this.lookups.push(groupId);
    return Promise.resolve(this.groups[groupId] ?? []);
  }
}

function actions(overrides: Partial<Record<PolicyName, Partial<ActionPolicy>>> = {}): Record<PolicyName, ActionPolicy> {
  return Object.fromEntries(
    POLICY_NAMES.map((a) => [
      a,
      { enabled: a !== 'delete', approvals: 1, expiresAfterMs: 72 * 3_600_000, rules: [], ...overrides[a] },
    ]),
  ) as Record<PolicyName, ActionPolicy>;
}

function policy(settings: Partial<PolicySettings> = {}, directory: Directory = new FakeDirectory({})): ApprovalPolicy {
  return new ApprovalPolicy(
    { approvers: { users: ['UADMIN1', 'UADMIN2'], groups: [] }, actions: actions(), ...settings },
    directory,
  );
}

function request(overrides: Partial<AccountRequest> = {}): AccountRequest {
  return {
    id: 'AD-TEST22',
    version: 1,
    plan: 'single',
    username: 'alice',
    steps: [
      {
        backend: 'cloud',
        action: 'quota',
        username: 'alice',
        params: { quotaBytes: 50 * GiB },
        state: 'pending',
        attempts: 0,
      },
    ],
    reason: '',
    requester: 'UREQ1',
    state: 'pending',
    createdAt: '2030-01-01T00:00:00.000Z',
    expiresAt: '2030-01-04T00:00:00.000Z',
    approvalsRequired: 1,
    approvals: [],
    ...overrides,
  };
}

describe('who may approve', () => {
  it('approvers listed by user id may approve; others may not', async () => {
    const p = policy();
    expect(await p.isApprover('UADMIN1')).toBe(true);
    expect(await p.isApprover('USOMEONE')).toBe(false);
    expect(await p.checkVote(request(), 'USOMEONE')).toMatchObject({ ok: false, code: 'not_approver' });
    expect(await p.checkVote(request(), 'UADMIN2')).toEqual({ ok: true });
  });

  it('members of an approver user group may approve, read through the Directory', async () => {
    const directory = new FakeDirectory({ SADMINS: ['UGROUPIE'], SOTHER: ['UOUTSIDER'] });
    const p = policy({ approvers: { users: [], groups: ['SADMINS'] } }, directory);
    expect(await p.isApprover('UGROUPIE')).toBe(true);
    expect(await p.isApprover('UOUTSIDER')).toBe(false);
    expect(directory.lookups).toContain('SADMINS');
    expect(directory.lookups).not.toContain('SOTHER');
  });

  it('never lets the requester approve their own request, even an approver', async () => {
    const p = policy();
    const vote = await p.checkVote(request({ requester: 'UADMIN1' }), 'UADMIN1');
    expect(vote).toMatchObject({ ok: false, code: 'self_approval' });
    if (!vote.ok) expect(vote.message).toMatch(/someone else has to approve/);
  });

  it('counts one vote per approver', async () => {
    const p = policy();
    const voted = request({ approvalsRequired: 2, approvals: [{ by: 'UADMIN1', at: '2030-01-01T01:00:00.000Z' }] });
    expect(await p.checkVote(voted, 'UADMIN1')).toMatchObject({ ok: false, code: 'already_voted' });
    expect(await p.checkVote(voted, 'UADMIN2')).toEqual({ ok: true });
  });

  it('fails closed with an empty approver list: nobody approves, and warnings() says so', async () => {
    const directory = new FakeDirectory({});
    const p = policy({ approvers: { users: [], groups: [] } }, directory);
    for (const user of ['UADMIN1', 'UADMIN2', 'U000']) {
      expect(await p.isApprover(user)).toBe(false);
      expect(await p.checkVote(request(), user)).toMatchObject({ ok: false, code: 'not_approver' });
    }
    expect(p.warnings().join('\n')).toMatch(/No approvers are configured.*approvers\.users or approvers\.groups/);
  });

  it('warns when an action can need more approvals than approvers are listed', () => {
    const p = policy({
      approvers: { users: ['UADMIN1'], groups: [] },
      actions: actions({ quota: { rules: [{ quotaAboveBytes: 100 * GiB, approvals: 2 }] } }),
    });
    expect(p.warnings()).toEqual([
      expect.stringMatching(/"quota" can need 2 approvals but only 1 approver\(s\).*never be approved/),
    ]);
  });

  it('gives no warnings for a sound policy', () => {
    expect(policy().warnings()).toEqual([]);
    // A disabled action needing more approvals than approvers cannot strand anyone.
    expect(policy({ actions: actions({ delete: { enabled: false, approvals: 5 } }) }).warnings()).toEqual([]);
  });
});

describe('how many approvals a request needs', () => {
  const rules = actions({
    create: { approvals: 1, rules: [{ quotaAboveBytes: 100 * GiB, approvals: 2 }] },
    quota: {
      approvals: 1,
      rules: [
        { quotaAboveBytes: 100 * GiB, approvals: 2 },
        { backends: ['nas'], approvals: 3 },
      ],
    },
    disable: { approvals: 2 },
  });
  const p = policy({ actions: rules, approvers: { users: ['UA', 'UB', 'UC'], groups: [] } });

  it('uses the action base count', () => {
    expect(p.approvalsRequired('disable', 'cloud', {})).toBe(2);
    expect(p.approvalsRequired('enable', 'cloud', {})).toBe(1);
  });

  it('"quota above 100 GB needs 2": 100 GB needs 1, 101 GB needs 2', () => {
    expect(p.approvalsRequired('quota', 'cloud', { quotaBytes: 100 * GiB })).toBe(1);
    expect(p.approvalsRequired('quota', 'cloud', { quotaBytes: 101 * GiB })).toBe(2);
    expect(p.approvalsRequired('create', 'cloud', { quotaBytes: 200 * GiB })).toBe(2);
  });

  it('counts unlimited as above any size', () => {
    expect(p.approvalsRequired('quota', 'cloud', { quotaBytes: null })).toBe(2);
    expect(p.approvalsRequired('create', 'cloud', { quotaBytes: null })).toBe(2);
  });

  it('skips a quota rule when the request names no quota (backend default)', () => {
    expect(p.approvalsRequired('create', 'cloud', {})).toBe(1);
  });

  it('applies a backend rule only to the backends it names, taking the highest match', () => {
    expect(p.approvalsRequired('quota', 'nas', { quotaBytes: 10 * GiB })).toBe(3);
    expect(p.approvalsRequired('quota', 'nas', { quotaBytes: null })).toBe(3);
    expect(p.approvalsRequired('quota', 'cloud', { quotaBytes: 10 * GiB })).toBe(1);
  });

  it('sets the expiry from the action policy', () => {
    const now = new Date('2030-01-01T00:00:00.000Z');
    expect(p.expiresAt('quota', now).toISOString()).toBe('2030-01-04T00:00:00.000Z');
  });

  it('reports which actions are enabled', () => {
    expect(p.isEnabled('create')).toBe(true);
    expect(p.isEnabled('delete')).toBe(false);
  });
});

describe('how many approvals a plan needs', () => {
  const p = policy({
    approvers: { users: ['UA', 'UB', 'UC'], groups: [] },
    actions: actions({
      create: { rules: [{ quotaAboveBytes: 100 * GiB, approvals: 2 }] },
      disable: { rules: [{ backends: ['nas'], approvals: 2 }] },
      delete: { enabled: true, approvals: 2 },
      onboard: { rules: [{ profiles: ['admins'], approvals: 3 }] },
      offboard: { approvals: 1 },
    }),
  });
  const create = (backend: string, quotaBytes?: number) => ({
    backend,
    action: 'create' as const,
    username: 'alice',
    params: quotaBytes === undefined ? {} : { quotaBytes },
  });

  it('a one-step plan needs what its action needs', () => {
    expect(p.planApprovals({ policy: 'create', steps: [create('cloud', 200 * GiB)] })).toBe(2);
    expect(p.planApprovals({ policy: 'create', steps: [create('cloud', 10 * GiB)] })).toBe(1);
  });

  it('an onboarding needs the highest any of its steps needs', () => {
    const steps = [create('cloud', 10 * GiB), create('nas', 200 * GiB)];
    expect(p.planApprovals({ policy: 'onboard', profile: 'staff', steps })).toBe(2);
    expect(p.planApprovals({ policy: 'onboard', profile: 'staff', steps: [create('cloud', 10 * GiB)] })).toBe(1);
  });

  it('a quota rule written only under quota: still counts for a create that sets that quota', () => {
    const quotaOnly = policy({
      approvers: { users: ['UA', 'UB'], groups: [] },
      actions: actions({ quota: { rules: [{ quotaAboveBytes: 100 * GiB, approvals: 2 }] } }),
    });
    expect(quotaOnly.planApprovals({ policy: 'onboard', steps: [create('cloud', 200 * GiB)] })).toBe(2);
    expect(quotaOnly.planApprovals({ policy: 'create', steps: [create('cloud', 200 * GiB)] })).toBe(2);
    expect(quotaOnly.planApprovals({ policy: 'onboard', steps: [create('cloud', 10 * GiB)] })).toBe(1);
  });

  it('a rule naming a profile applies to onboardings with that profile only', () => {
    const steps = [create('cloud', 10 * GiB)];
    expect(p.planApprovals({ policy: 'onboard', profile: 'admins', steps })).toBe(3);
    expect(p.planApprovals({ policy: 'onboard', profile: 'staff', steps })).toBe(1);
    expect(p.planApprovals({ policy: 'onboard', steps })).toBe(1);
  });

  it('an offboarding needs the most of its own count and its steps (a backend rule on disable counts)', () => {
    const disable = (backend: string) => ({ backend, action: 'disable' as const, username: 'alice', params: {} });
    expect(p.planApprovals({ policy: 'offboard', steps: [disable('cloud')] })).toBe(1);
    expect(p.planApprovals({ policy: 'offboard', steps: [disable('cloud'), disable('nas')] })).toBe(2);
    const remove = { backend: 'cloud', action: 'delete' as const, username: 'alice', params: {} };
    expect(p.planApprovals({ policy: 'offboard', steps: [remove] })).toBe(2);
  });

  it('names onboard and offboard in its warnings like any action', () => {
    const strict = policy({
      approvers: { users: ['UA'], groups: [] },
      actions: actions({ offboard: { approvals: 2 } }),
    });
    expect(strict.warnings()).toEqual([expect.stringMatching(/"offboard" can need 2 approvals but only 1 approver/)]);
  });
});

describe('who may ask', () => {
  it('lets everyone ask when no requesters are configured', async () => {
    expect(await policy().mayRequest('UANYONE')).toBe(true);
  });

  it('restricts asking to the listed users and group members', async () => {
    const p = policy(
      { requesters: { users: ['UALLOWED'], groups: ['SSTAFF'] } },
      new FakeDirectory({ SSTAFF: ['USTAFF'] }),
    );
    expect(await p.mayRequest('UALLOWED')).toBe(true);
    expect(await p.mayRequest('USTAFF')).toBe(true);
    expect(await p.mayRequest('UOTHER')).toBe(false);
  });
});
