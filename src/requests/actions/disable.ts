import type { ActionKind } from './kind.js';

export const disableAction: ActionKind = {
  name: 'disable',
  done: 'disabled',
  destructive: true,
  enabledByDefault: true,
  usage: 'disable <backend> <username> [reason]',
  checkParams: () => ({ ok: true, params: {} }),
  describe: ({ username }) => `disable ${username}`,
  assess(_step, current) {
    if (!current.exists) return { change: 'enabled → disabled', blocker: 'user does not exist' };
    if (current.enabled === false) return { change: 'disabled → disabled', noOp: 'already disabled' };
    return { change: 'enabled → disabled' };
  },
  apply: (backend, step) => backend.disableUser(step.username),
  isDone: (_step, current) => current.exists && current.enabled === false,
};
