import type { ActionKind } from './kind.js';

export const enableAction: ActionKind = {
  name: 'enable',
  done: 'enabled',
  destructive: false,
  enabledByDefault: true,
  usage: 'enable <backend> <username> [reason]',
  checkParams: () => ({ ok: true, params: {} }),
  describe: ({ username }) => `enable ${username}`,
  assess(_step, current) {
    if (!current.exists) return { change: 'disabled → enabled', blocker: 'user does not exist' };
    if (current.enabled === true) return { change: 'enabled → enabled', noOp: 'already enabled' };
    return { change: 'disabled → enabled' };
  },
  apply: (backend, step) => backend.enableUser(step.username),
  isDone: (_step, current) => current.exists && current.enabled === true,
};
