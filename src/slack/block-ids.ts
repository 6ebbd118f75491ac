/** Every action_id, block_id and callback_id the app uses; builders and listeners import them from here. */

/** The action_id of each card button, as Slack sends it back in block_actions. */
export const SLACK_ACTION_ID = {
  approve: 'request_approve',
  reject: 'request_reject',
  retry: 'request_retry',
  cancel: 'request_cancel',
  /** An approver cancels what is scheduled on a request (card, `/account scheduled`, App Home). */
  scheduleCancel: 'schedule_cancel',
  /** The requester, in the DM before a scheduled step, asks for more time (opens a prefilled request form). */
  scheduleExtend: 'schedule_extend',
  /** A running batch (approvers): stop claiming rows, go on, or skip the rows left. */
  pauseBatch: 'batch_pause',
  resumeBatch: 'batch_resume',
  cancelBatch: 'batch_cancel',
} as const;

export const VIEW = {
  request: 'request_modal',
  reject: 'reject_modal',
  confirm: 'confirm_modal',
  batch: 'batch_modal',
} as const;

/** Blocks of the batch modal (`/account batch`). */
export const BATCH_FIELD = {
  backend: 'batch_backend',
  action: 'batch_action',
  profile: 'batch_profile',
  csv: 'batch_csv',
  file: 'batch_file',
  skipInvalid: 'batch_skip_invalid',
  reason: 'batch_reason',
} as const;

/** Blocks of the request modal: one per field, so inline errors land on the right input. */
export const REQUEST_FIELD = {
  action: 'field_action',
  backend: 'field_backend',
  username: 'field_username',
  email: 'field_email',
  displayName: 'field_display_name',
  quota: 'field_quota',
  until: 'field_until',
  groups: 'field_groups',
  profile: 'field_profile',
  reason: 'field_reason',
} as const;

/** Each input block holds one element; its action_id is always this. */
export const INPUT = 'value';

export const REJECT_REASON_BLOCK = 'reject_reason';
export const CONFIRM_USERNAME_BLOCK = 'confirm_username';
