import type { ActionName } from '../types.js';
import { createAction } from './create.js';
import { deleteAction } from './delete.js';
import { disableAction } from './disable.js';
import { enableAction } from './enable.js';
import { joinAction } from './join.js';
import type { ActionKind } from './kind.js';
import { leaveAction } from './leave.js';
import { quotaAction } from './quota.js';
import { reinviteAction } from './reinvite.js';

export type { ActionKind, Draft } from './kind.js';

/** What each verb does, by verb: its fields and checks, its backend call and how a card describes it. */
export const ACTION_KINDS: Record<ActionName, ActionKind> = {
  create: createAction,
  disable: disableAction,
  enable: enableAction,
  quota: quotaAction,
  delete: deleteAction,
  join: joinAction,
  leave: leaveAction,
  reinvite: reinviteAction,
};
