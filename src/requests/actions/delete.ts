import type { ActionKind } from './kind.js';

export const deleteAction: ActionKind = {
  name: 'delete',
  done: 'deleted',
  destructive: true,
  // Deleting a user deletes their files: off unless the policy file enables it for the action.
  enabledByDefault: false,
  capability: 'delete',
  usage: 'delete <backend> <username> [reason]',
  checkParams: () => ({ ok: true, params: {} }),
  describe: ({ username }) => `delete ${username} and their files`,
  assess(_step, current) {
    if (!current.exists) return { change: 'exists → deleted', noOp: 'user does not exist' };
    return { change: 'exists → deleted (files included)' };
  },
  apply(backend, step) {
    if (!backend.deleteUser) throw new Error(`${backend.name} cannot delete users`);
    return backend.deleteUser(step.username);
  },
  isDone: (_step, current) => !current.exists,
};
