import type { ActionKind } from './kind.js';

/** Sends the invitation (set-password) mail again: for the user who lost or never got the first one. */
export const reinviteAction: ActionKind = {
  name: 'reinvite',
  done: 'invited again',
  destructive: false,
  enabledByDefault: true,
  capability: 'resendInvite',
  usage: 'reinvite <backend> <username> [reason]',
  checkParams: () => ({ ok: true, params: {} }),
  describe: ({ username }) => `send ${username} the invitation mail again`,
  assess(_step, current) {
    const change = `invitation mail to ${current.email ?? 'the address on file'}`;
    if (!current.exists) return { change, blocker: 'user does not exist' };
    if (!current.email) return { change, blocker: 'the user has no email address' };
    if (current.enabled === false)
      return { change, warning: 'the user is disabled: the link will not let them in until re-enabled' };
    return { change };
  },
  apply(backend, step) {
    if (!backend.resendInvite) throw new Error(`${backend.name} cannot resend invitations`);
    return backend.resendInvite(step.username);
  },
  // A mail leaves no trace to read back: after an interruption nothing shows it was sent, so recovery marks it
  // failed and an approver decides whether to send it (again).
  isDone: () => false,
  unverifiable: (backend) =>
    `AccountDesk stopped while asking ${backend} to send the invitation, and ` +
    `whether the mail went out cannot be read back. Retry sends it (perhaps ` +
    `again); Give up leaves it.`,
};
