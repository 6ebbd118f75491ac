import type { ActionName } from '../types.js';
import { createAction } from './create.js';
import { deleteAction } from './delete.js';
import { disableAction } from './disable.js';
import { enableAction } from './enable.js';
import type { ActionKind } from './kind.js';
import { quotaAction } from './quota.js';

export type { ActionKind, Assessment, Draft, ParamsCheck } from './kind.js';

export const ACTION_KINDS: Record<ActionName, ActionKind> = {
  create: createAction,
  disable: disableAction,
  enable: enableAction,
  quota: quotaAction,
  delete: deleteAction,
};
