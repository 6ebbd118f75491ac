/** Modals: the request form, the reject reason, the typed confirmation for destructive actions. Pure builders. */
import type { types } from '@slack/bolt';
import type { Profiles } from '../../requests/plans.js';
import { formatBytes } from '../../requests/sizes.js';
import type { AccountRequest, ActionName } from '../../requests/types.js';
import { CONFIRM_USERNAME_BLOCK, INPUT, REJECT_REASON_BLOCK, REQUEST_FIELD, VIEW } from '../block-ids.js';
import { LIMITS, esc, truncate } from '../text.js';
import { backendsOf, describeRequest } from './card.js';

type ModalView = types.ModalView;

const ACTION_LABEL: Record<ActionName, string> = {
  create: 'Create a user',
  disable: 'Disable a user',
  enable: 'Re-enable a user',
  quota: 'Change a storage quota',
  delete: 'Delete a user and their files',
  join: 'Add a user to a group',
  leave: 'Remove a user from a group',
  reinvite: 'Send the invitation mail again',
};

/** The plans the form offers beside the single actions. */
export type FormPlan = 'onboard' | 'offboard';

const PLAN_LABEL: Record<FormPlan, string> = {
  onboard: 'Onboard a person (accounts from a profile)',
  offboard: 'Offboard a person (disable everywhere)',
};

/** "cloud 10 GB, groups staff; nas 50 GB, groups users": what a profile creates, for the form. */
function describeProfile(accounts: Profiles[string]): string {
  return Object.entries(accounts)
    .map(([backend, account]) => {
      const parts = [
        account.quotaBytes !== undefined ? formatBytes(account.quotaBytes) : undefined,
        account.groups?.length ? `groups ${account.groups.join(', ')}` : undefined,
      ].filter(Boolean);
      return parts.length ? `${backend} ${parts.join(', ')}` : backend;
    })
    .join('; ');
}

/** What the modal carries between open and submit: only ids (docs/slack.md#limits). */
export interface RequestModalMetadata {
  /** Where /account was typed, for the ephemeral receipt. */
  channel?: string;
  /** The request whose time limit the form extends ("Ask for more time"). */
  extends?: string;
}

/** Values a form opens with (the extension asked for from the DM before a scheduled step). */
export interface RequestFormPrefill {
  action: ActionName | FormPlan;
  backend?: string;
  profile?: string;
  email?: string;
  username: string;
  quota?: string;
  /** YYYY-MM-DD for the date picker. */
  until?: string;
  reason?: string;
}

export function requestModal(options: {
  actions: ActionName[];
  /** Onboard (when profiles exist) and offboard, where the policy enables them. */
  plans?: FormPlan[];
  profiles?: Profiles;
  backends: { name: string; kind: string }[];
  metadata: RequestModalMetadata;
  prefill?: RequestFormPrefill;
}): ModalView {
  const prefill = options.prefill;
  const profiles = Object.entries(options.profiles ?? {}).slice(0, 100);
  const textInput = (
    blockId: string,
    label: string,
    opts: {
      optional?: boolean;
      hint?: string;
      placeholder?: string;
      multiline?: boolean;
      maxLength?: number;
      initial?: string;
    } = {},
  ): types.InputBlock => ({
    type: 'input',
    block_id: blockId,
    optional: opts.optional ?? true,
    label: { type: 'plain_text', text: label },
    ...(opts.hint ? { hint: { type: 'plain_text', text: opts.hint } } : {}),
    element: {
      type: 'plain_text_input',
      action_id: INPUT,
      multiline: opts.multiline ?? false,
      max_length: opts.maxLength ?? 256,
      ...(opts.initial ? { initial_value: opts.initial } : {}),
      ...(opts.placeholder ? { placeholder: { type: 'plain_text', text: opts.placeholder } } : {}),
    },
  });
  return {
    type: 'modal',
    callback_id: VIEW.request,
    title: { type: 'plain_text', text: 'Account request' },
    submit: { type: 'plain_text', text: 'Send for approval' },
    close: { type: 'plain_text', text: 'Cancel' },
    private_metadata: JSON.stringify(requestMetadata(options.metadata)),
    blocks: [
      {
        type: 'input',
        block_id: REQUEST_FIELD.action,
        label: { type: 'plain_text', text: 'What should change?' },
        element: {
          type: 'static_select',
          action_id: INPUT,
          options: [
            ...options.actions.map((a) => option(ACTION_LABEL[a], a)),
            ...(options.plans ?? []).map((p) => option(PLAN_LABEL[p], p)),
          ],
          ...initialAction(options.actions, options.plans ?? [], prefill?.action),
        },
      },
      {
        type: 'input',
        block_id: REQUEST_FIELD.backend,
        // Onboarding and offboarding name no backend: the profile, or every backend, says where.
        optional: (options.plans ?? []).length > 0,
        label: { type: 'plain_text', text: 'Where' },
        element: {
          type: 'static_select',
          action_id: INPUT,
          // At most 100 options in a select (docs/slack.md#limits).
          options: options.backends.slice(0, 100).map((b) => option(`${b.name} (${b.kind})`, b.name)),
          ...initialBackend(options.backends, prefill?.backend),
        },
      },
      textInput(REQUEST_FIELD.username, 'Username', { optional: false, maxLength: 255, initial: prefill?.username }),
      textInput(REQUEST_FIELD.email, 'Email (new users)', {
        hint: 'Nextcloud mails the invitation here.',
        placeholder: 'alice@example.com',
        initial: prefill?.email,
      }),
      textInput(REQUEST_FIELD.displayName, 'Display name (new users)', { maxLength: 64 }),
      textInput(REQUEST_FIELD.quota, 'Quota', {
        hint: 'For new users and quota changes: 50GB, 1.5 TB, 500 MiB or unlimited.',
        placeholder: '50GB',
        initial: prefill?.quota,
      }),
      {
        type: 'input',
        block_id: REQUEST_FIELD.until,
        optional: true,
        label: { type: 'plain_text', text: 'Until (time limit)' },
        hint: {
          type: 'plain_text',
          text: 'New users and onboarding: disabled on this day. Quota changes: the old quota comes back that day.',
        },
        element: { type: 'datepicker', action_id: INPUT, ...(prefill?.until ? { initial_date: prefill.until } : {}) },
      },
      textInput(REQUEST_FIELD.groups, 'Groups', {
        hint: 'New users: comma-separated. Add to / remove from a group: one group.',
        placeholder: 'staff, sales',
      }),
      ...profileBlocks(profiles, prefill?.profile),
      textInput(REQUEST_FIELD.reason, 'Why', {
        multiline: true,
        maxLength: 500,
        hint: 'Approvers see this.',
        initial: prefill?.reason,
      }),
    ],
  };
}

/** One choice of a select menu; Slack cuts an option's text at 75 characters (docs/slack.md#limits). */
export function option(text: string, value: string): types.PlainTextOption {
  return { text: { type: 'plain_text', text: truncate(text, 75) }, value };
}

/** The action select's initial option, when the prefill names one the form offers. */
function initialAction(
  actions: ActionName[],
  plans: FormPlan[],
  action: ActionName | FormPlan | undefined,
): { initial_option?: types.PlainTextOption } {
  if ((actions as string[]).includes(action ?? '')) {
    return { initial_option: option(ACTION_LABEL[action as ActionName], action as ActionName) };
  }
  if ((plans as string[]).includes(action ?? '')) {
    return { initial_option: option(PLAN_LABEL[action as FormPlan], action as FormPlan) };
  }
  return {};
}

/** The backend select's initial option, when the prefill names one the form offers. */
function initialBackend(
  backends: { name: string; kind: string }[],
  name: string | undefined,
): { initial_option?: types.PlainTextOption } {
  const backend = backends.find((b) => b.name === name);
  return backend ? { initial_option: option(`${backend.name} (${backend.kind})`, backend.name) } : {};
}

/** The profile picker for onboarding, with what each profile creates spelled out beneath it. */
function profileBlocks(profiles: [string, Profiles[string]][], initial?: string): types.KnownBlock[] {
  if (profiles.length === 0) return [];
  const lines = profiles.map(([name, accounts]) => `*${esc(name)}*: ${esc(describeProfile(accounts))}`);
  return [
    {
      type: 'input',
      block_id: REQUEST_FIELD.profile,
      optional: true,
      label: { type: 'plain_text', text: 'Profile (onboarding)' },
      element: {
        type: 'static_select',
        action_id: INPUT,
        options: profiles.map(([name]) => option(name, name)),
        ...(profiles.some(([name]) => name === initial)
          ? { initial_option: option(initial ?? '', initial ?? '') }
          : {}),
      },
    },
    {
      type: 'context',
      elements: [{ type: 'mrkdwn', text: truncate(`Onboarding creates: ${lines.join(' · ')}`, LIMITS.contextText) }],
    },
  ];
}

/**
 * Slack channel ids are about a dozen characters; anything far longer is not one and is left out, which keeps the
 * metadata far inside private_metadata's 3000 characters (docs/slack.md#limits), signature included.
 */
const MAX_CHANNEL_ID = 64;
function requestMetadata(metadata: RequestModalMetadata): RequestModalMetadata {
  return {
    ...(metadata.channel !== undefined && metadata.channel.length <= MAX_CHANNEL_ID
      ? { channel: metadata.channel }
      : {}),
    // A request id (AD- and six characters); the domain looks it up again on submit.
    ...(metadata.extends !== undefined && metadata.extends.length <= MAX_CHANNEL_ID
      ? { extends: metadata.extends }
      : {}),
  };
}

export function rejectModal(request: AccountRequest): ModalView {
  return decisionModal(request, {
    callbackId: VIEW.reject,
    title: `Reject ${request.id}`,
    submit: 'Reject',
    intro: `Reject *${esc(describeRequest(request))}* on *${esc(backendsOf(request))}*?`,
    inputBlock: REJECT_REASON_BLOCK,
    inputLabel: 'Reason (the requester reads it)',
    input: { multiline: true, min_length: 1, max_length: 500 },
  });
}

export function confirmModal(request: AccountRequest): ModalView {
  return decisionModal(request, {
    callbackId: VIEW.confirm,
    title: `Approve ${request.id}`,
    submit: 'Approve',
    intro:
      `:warning: This will *${esc(describeRequest(request))}* on ` +
      `*${esc(backendsOf(request))}*. ` +
      (request.plan === 'batch'
        ? `Type the number of rows (${request.steps.length}) to confirm.`
        : 'Type the username to confirm.'),
    inputBlock: CONFIRM_USERNAME_BLOCK,
    inputLabel: request.plan === 'batch' ? 'Number of rows' : 'Username',
    input: { multiline: false, max_length: 255 },
  });
}

/** A decision about one request: a sentence, one text input, the request id in private_metadata. */
function decisionModal(
  request: AccountRequest,
  spec: {
    callbackId: string;
    title: string;
    submit: string;
    intro: string;
    inputBlock: string;
    inputLabel: string;
    input: { multiline: boolean; min_length?: number; max_length: number };
  },
): ModalView {
  return {
    type: 'modal',
    callback_id: spec.callbackId,
    // Modal titles hold at most 24 characters (docs/slack.md#limits); "Approve AD-XXXXXX" is 17.
    title: { type: 'plain_text', text: truncate(spec.title, LIMITS.modalTitle) },
    submit: { type: 'plain_text', text: spec.submit },
    close: { type: 'plain_text', text: 'Back' },
    private_metadata: request.id,
    blocks: [
      { type: 'section', text: { type: 'mrkdwn', text: truncate(spec.intro, LIMITS.sectionText) } },
      {
        type: 'input',
        block_id: spec.inputBlock,
        label: { type: 'plain_text', text: spec.inputLabel },
        element: { type: 'plain_text_input', action_id: INPUT, ...spec.input },
      },
    ],
  };
}
