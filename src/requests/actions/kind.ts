/**
 * What every action kind provides. A new kind of request is one new file in this folder that exports an
 * ActionKind, plus its name in REQUEST_ACTIONS (types.ts) and in the registry (index.ts).
 */
import type { ApplyResult, BackendClient, Capability, UserState } from '../../backends/types.js';
import type { ActionName, RequestParams, StepTarget } from '../types.js';

/** What a person typed or picked, before validation. */
export interface Draft {
  action: ActionName;
  backend: string;
  username: string;
  email?: string;
  displayName?: string;
  quota?: string;
  groups?: string[];
  reason?: string;
  /** `until:<YYYY-MM-DD>` (create, quota): when the change is undone (src/requests/schedule.ts). */
  until?: string;
  /** `for:<duration>` (create, quota): how long the change lasts. */
  duration?: string;
  /** The request whose time limit this one extends (the form opened from "Ask for more time"). */
  extends?: string;
}

export type ParamsCheck = { ok: true; params: RequestParams } | { ok: false; field: string; message: string };

/** The proposed change set against what the backend reports now: what the approval card shows. */
export interface Assessment {
  /** "quota 10 GB -> 50 GB", "enabled -> disabled". */
  change: string;
  /** Set when approving would change nothing ("already disabled"). */
  noOp?: string;
  /** Set when the change cannot apply as it stands ("user does not exist"). */
  blocker?: string;
  /** Worth an approver's attention but not a reason to refuse ("already stores more than the new quota"). */
  warning?: string;
}

export interface ActionKind {
  name: ActionName;
  /** Past tense for outcomes: "created", "disabled". */
  done: string;
  /** Destructive actions ask the approver to type the username before approving. */
  destructive: boolean;
  /** Whether the action is offered when the policy does not mention it. */
  enabledByDefault: boolean;
  /** The optional backend capability it needs (src/backends/types.ts Capability). */
  capability?: Capability;
  /** Usage shown in help and parse errors, after the command name. */
  usage: string;
  /** Checks and cleans the action's own fields (the username is checked by the service). */
  checkParams(draft: Draft, backend: BackendClient): ParamsCheck;
  /** One line: "create alice (alice@example.com, quota 10 GB)". */
  describe(step: Pick<StepTarget, 'username' | 'params'>): string;
  assess(step: Pick<StepTarget, 'username' | 'params'>, current: UserState): Assessment;
  apply(backend: BackendClient, step: StepTarget, password?: string): Promise<ApplyResult>;
  /**
   * Whether the change is already in place: how recovery tells an interrupted apply that happened from one that
   * did not.
   */
  isDone(step: Pick<StepTarget, 'username' | 'params'>, current: UserState): boolean;
  /**
   * For a change that leaves no trace to read back (a mail): what recovery tells the approver instead of "the
   * change is not in place".
   */
  unverifiable?: (backend: string) => string;
}
