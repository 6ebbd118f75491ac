/**
 * Modal submissions. Validation runs BEFORE ack so problems come back inline on the field
 * (response_action: 'errors', docs/slack.md#acknowledge-within-3-seconds).
 */
import type { App, SlackViewMiddlewareArgs, ViewOutput } from '@slack/bolt';
import { confirmationOf } from '../../requests/decisions.js';
import type { RequestDraft } from '../../requests/plans.js';
import { REQUEST_ACTIONS, type ActionName, type Failure } from '../../requests/types.js';
import { receiptText } from '../blocks/messages.js';
import type { RequestModalMetadata } from '../blocks/modals.js';
import { CONFIRM_USERNAME_BLOCK, INPUT, REJECT_REASON_BLOCK, REQUEST_FIELD, VIEW } from '../block-ids.js';
import { esc, warning } from '../text.js';
import { failureText, unexpectedFailureWords, type ListenerDeps } from './shared.js';

/** Inline error for a submission whose private_metadata this app did not issue to this person for this form. */
const NOT_ISSUED = 'This form was not opened by AccountDesk for you. Close it and start again from Slack.';

export function registerModals(app: App, deps: ListenerDeps): void {
  const { desk } = deps;

  app.view(VIEW.request, async ({ ack, view, body }) => {
    const user = body.user.id;
    const issued = deps.surface.issuedMetadata(view, user);
    if (issued === undefined) {
      await ack({ response_action: 'errors', errors: { [REQUEST_FIELD.action]: NOT_ISSUED } });
      return;
    }
    const form = draftFrom(view, desk.plans.backendNames());
    if (!form.ok) {
      await ack({ response_action: 'errors', errors: { [form.block]: form.message } });
      return;
    }
    const { draft } = form;
    // "Ask for more time": the request it extends rides in the sealed metadata this app issued, never in a field.
    const extendsId = parseMetadata(issued).extends;
    if (extendsId && draft.action !== 'offboard' && draft.action !== 'batch') draft.extends = extendsId;
    // Check before the ack (inline errors must ride on it), store after it: a slow store must never make Slack
    // show the form as failed for a request that was in fact saved, inviting a duplicate.
    let checked: Awaited<ReturnType<typeof desk.plans.check>>;
    try {
      checked = await desk.plans.check(draft, user);
    } catch (err) {
      deps.logger.error({ err }, 'checking a request form failed');
      await ack({ response_action: 'errors', errors: { [REQUEST_FIELD.action]: unexpectedFailureWords(err) } });
      return;
    }
    if (!checked.ok) {
      await ack({ response_action: 'errors', errors: { [fieldBlock(checked.field)]: checked.message } });
      return;
    }
    await ack();
    let text: string;
    try {
      const result = await desk.decisions.submit(draft, user);
      text = result.ok ? receiptText(result.request) : warning(result.message);
    } catch (err) {
      deps.logger.error({ err }, 'storing a request failed after its form was accepted');
      text =
        `:warning: Your request could not be saved: ${esc(unexpectedFailureWords(err))} ` +
        'Nothing was sent for approval; please submit it again.';
    }
    const metadata = parseMetadata(issued);
    try {
      if (metadata.channel) await deps.surface.ephemeral(metadata.channel, user, text);
      else await deps.surface.dm(user, text);
    } catch {
      // The modal may have been opened in a channel the app is not in: the DM always works.
      await deps.surface.dm(user, text).catch((err) => deps.logger.warn({ err }, 'could not send the receipt'));
    }
  });

  app.view(VIEW.reject, async ({ ack, view, body }) => {
    const id = deps.surface.issuedMetadata(view, body.user.id);
    if (id === undefined) return ack({ response_action: 'errors', errors: { [REJECT_REASON_BLOCK]: NOT_ISSUED } });
    await decideInModal(
      deps,
      ack,
      REJECT_REASON_BLOCK,
      id,
      body.user.id,
      () => desk.decisions.reject(id, body.user.id, textValue(view, REJECT_REASON_BLOCK) ?? ''),
      (failure) => (failure.code === 'reason_required' ? failure.message : undefined),
    );
  });

  app.view(VIEW.confirm, async ({ ack, view, body }) => {
    const id = deps.surface.issuedMetadata(view, body.user.id);
    if (id === undefined) return ack({ response_action: 'errors', errors: { [CONFIRM_USERNAME_BLOCK]: NOT_ISSUED } });
    await decideInModal(
      deps,
      ack,
      CONFIRM_USERNAME_BLOCK,
      id,
      body.user.id,
      () => desk.decisions.approve(id, body.user.id, textValue(view, CONFIRM_USERNAME_BLOCK) ?? ''),
      (failure) =>
        failure.code !== 'confirmation_mismatch'
          ? undefined
          : failure.request?.plan === 'batch'
            ? `That is not the number of rows. Type ${confirmationOf(failure.request)}.`
            : `That is not the username. Type ${failure.request?.username ?? 'it'} exactly.`,
    );
  });
}

/**
 * A decision submitted from a modal (reject, typed confirmation). Not acked yet when it runs: a refusal the
 * person can fix, or an unexpected failure, comes back inline on `block` and the modal stays open; any other
 * refusal closes the modal and is explained by DM. Returns the success, if any.
 */
async function decideInModal<T extends { ok: true }>(
  deps: ListenerDeps,
  ack: SlackViewMiddlewareArgs['ack'],
  block: string,
  requestId: string,
  user: string,
  decide: () => Promise<T | Failure>,
  fixableInline: (failure: Failure) => string | undefined,
): Promise<T | undefined> {
  let result: T | Failure;
  try {
    result = await decide();
  } catch (err) {
    deps.logger.error({ err, request: requestId }, 'a decision submitted from a modal failed');
    await ack({ response_action: 'errors', errors: { [block]: unexpectedFailureWords(err) } });
    return undefined;
  }
  if (!result.ok) {
    const inline = fixableInline(result);
    if (inline) {
      await ack({ response_action: 'errors', errors: { [block]: inline } });
      return undefined;
    }
  }
  await ack();
  if (result.ok) return result;
  await deps.surface
    .dm(user, failureText(result))
    .catch((err) =>
      deps.logger.warn({ err, request: requestId }, 'could not tell the person why their decision did nothing'),
    );
  return undefined;
}

/**
 * The request a form describes. The two selects only offer known actions and backends, but a submission can carry
 * any value (Slack signs what the submitter's client sent): a value never offered is refused on its field.
 */
function draftFrom(
  view: ViewOutput,
  backends: string[],
): { ok: true; draft: RequestDraft } | { ok: false; block: string; message: string } {
  const action = selectedValue(view, REQUEST_FIELD.action) ?? 'create';
  const username = textValue(view, REQUEST_FIELD.username) ?? '';
  const reason = textValue(view, REQUEST_FIELD.reason);
  // Onboarding and offboarding name no backend: the profile, or every backend, says where.
  if (action === 'onboard') {
    const draft: RequestDraft = {
      action,
      username,
      email: textValue(view, REQUEST_FIELD.email),
      displayName: textValue(view, REQUEST_FIELD.displayName),
      profile: selectedValue(view, REQUEST_FIELD.profile) ?? '',
      reason,
      until: dateValue(view, REQUEST_FIELD.until),
    };
    return { ok: true, draft };
  }
  if (action === 'offboard') return { ok: true, draft: { action, username, reason } };
  if (!(REQUEST_ACTIONS as readonly string[]).includes(action))
    return { ok: false, block: REQUEST_FIELD.action, message: 'Pick one of the offered changes from the list.' };
  const backend = selectedValue(view, REQUEST_FIELD.backend) ?? '';
  if (!backends.includes(backend))
    return {
      ok: false,
      block: REQUEST_FIELD.backend,
      message: `Pick one of the offered places from the list: ${backends.join(', ')}.`,
    };
  const groups = textValue(view, REQUEST_FIELD.groups);
  const draft: RequestDraft = {
    action: action as ActionName,
    backend,
    username,
    email: textValue(view, REQUEST_FIELD.email),
    displayName: textValue(view, REQUEST_FIELD.displayName),
    quota: textValue(view, REQUEST_FIELD.quota),
    groups: groups
      ? groups
          .split(',')
          .map((g) => g.trim())
          .filter(Boolean)
      : undefined,
    reason,
    until: dateValue(view, REQUEST_FIELD.until),
  };
  return { ok: true, draft };
}

/** The modal block that shows a domain field's error. */
function fieldBlock(field: string | undefined): string {
  const known: Record<string, string> = REQUEST_FIELD;
  return (field && known[field]) || REQUEST_FIELD.action;
}

function textValue(view: ViewOutput, block: string): string | undefined {
  return view.state.values[block]?.[INPUT]?.value ?? undefined;
}

/** A date picker's day, YYYY-MM-DD as Slack sends it; undefined when none was picked. */
function dateValue(view: ViewOutput, block: string): string | undefined {
  return view.state.values[block]?.[INPUT]?.selected_date ?? undefined;
}

function selectedValue(view: ViewOutput, block: string): string | undefined {
  return view.state.values[block]?.[INPUT]?.selected_option?.value ?? undefined;
}

function parseMetadata(text: string): RequestModalMetadata {
  try {
    const parsed = JSON.parse(text) as RequestModalMetadata;
    return {
      ...(typeof parsed.channel === 'string' ? { channel: parsed.channel } : {}),
      ...(typeof parsed.extends === 'string' ? { extends: parsed.extends } : {}),
    };
  } catch {
    return {};
  }
}
