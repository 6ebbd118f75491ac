/**
 * Modal submissions. Validation runs BEFORE ack so problems come back inline on the field
 * (response_action: 'errors', reference/slack.md "ack and the 3-second window").
 */
import type { App, ViewOutput } from '@slack/bolt';
import type { Draft } from '../../requests/actions/index.js';
import type { ActionName } from '../../requests/types.js';
import { receiptText } from '../blocks/messages.js';
import type { RequestModalMetadata } from '../blocks/modals.js';
import { CONFIRM_USERNAME_BLOCK, INPUT, REJECT_REASON_BLOCK, REQUEST_FIELD, VIEW } from '../ids.js';
import { esc } from '../text.js';
import { applyInBackground, failureText, unexpectedFailureWords, type ListenerDeps } from './shared.js';

export function registerModals(app: App, deps: ListenerDeps): void {
  const { service } = deps;

  app.view(VIEW.request, async ({ ack, view, body }) => {
    const user = body.user.id;
    const draft = draftFrom(view);
    // Check before the ack (inline errors must ride on it), store after it: a slow store must never make Slack
    // show the form as failed for a request that was in fact saved, inviting a duplicate.
    let checked: Awaited<ReturnType<typeof service.check>>;
    try {
      checked = await service.check(draft, user);
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
      const result = await service.submit(draft, user);
      text = result.ok ? receiptText(result.request) : `:warning: ${esc(result.message)}`;
      if (result.ok) deps.publisher.kick();
    } catch (err) {
      deps.logger.error({ err }, 'storing a request failed after its form was accepted');
      text = `:warning: Your request could not be saved: ${esc(unexpectedFailureWords(err))} Nothing was sent for approval; please submit it again.`;
    }
    const metadata = parseMetadata(view.private_metadata);
    try {
      if (metadata.channel) await deps.surface.ephemeral(metadata.channel, user, text);
      else await deps.surface.dm(user, text);
    } catch {
      // The modal may have been opened in a channel the app is not in: the DM always works.
      await deps.surface.dm(user, text).catch((err) => deps.logger.warn({ err }, 'could not send the receipt'));
    }
  });

  app.view(VIEW.reject, async ({ ack, view, body }) => {
    const reason = textValue(view, REJECT_REASON_BLOCK) ?? '';
    let result: Awaited<ReturnType<typeof service.reject>>;
    try {
      result = await service.reject(view.private_metadata, body.user.id, reason);
    } catch (err) {
      // Not acked yet: say it on the modal, which stays open so the approver can try again.
      deps.logger.error({ err, request: view.private_metadata }, 'a reject submission failed');
      await ack({ response_action: 'errors', errors: { [REJECT_REASON_BLOCK]: unexpectedFailureWords(err) } });
      return;
    }
    if (!result.ok && result.code === 'reason_required') {
      await ack({ response_action: 'errors', errors: { [REJECT_REASON_BLOCK]: result.message } });
      return;
    }
    await ack();
    if (!result.ok) return void (await deps.surface.dm(body.user.id, failureText(result)).catch(() => undefined));
    deps.publisher.kick();
  });

  app.view(VIEW.confirm, async ({ ack, view, body }) => {
    const typed = textValue(view, CONFIRM_USERNAME_BLOCK) ?? '';
    let result: Awaited<ReturnType<typeof service.approve>>;
    try {
      result = await service.approve(view.private_metadata, body.user.id, typed);
    } catch (err) {
      deps.logger.error({ err, request: view.private_metadata }, 'a confirmation submission failed');
      await ack({ response_action: 'errors', errors: { [CONFIRM_USERNAME_BLOCK]: unexpectedFailureWords(err) } });
      return;
    }
    if (!result.ok && result.code === 'confirmation_mismatch') {
      await ack({ response_action: 'errors', errors: { [CONFIRM_USERNAME_BLOCK]: `That is not the username. Type ${result.request?.username ?? 'it'} exactly.` } });
      return;
    }
    await ack();
    if (!result.ok) return void (await deps.surface.dm(body.user.id, failureText(result)).catch(() => undefined));
    if (result.complete) applyInBackground(deps, result.request);
    else deps.publisher.kick();
  });
}

function draftFrom(view: ViewOutput): Draft {
  const groups = textValue(view, REQUEST_FIELD.groups);
  return {
    action: (selectedValue(view, REQUEST_FIELD.action) ?? 'create') as ActionName,
    backend: selectedValue(view, REQUEST_FIELD.backend) ?? '',
    username: textValue(view, REQUEST_FIELD.username) ?? '',
    email: textValue(view, REQUEST_FIELD.email),
    displayName: textValue(view, REQUEST_FIELD.displayName),
    quota: textValue(view, REQUEST_FIELD.quota),
    groups: groups ? groups.split(',').map((g) => g.trim()).filter(Boolean) : undefined,
    reason: textValue(view, REQUEST_FIELD.reason),
  };
}

/** The modal block that shows a domain field's error. */
function fieldBlock(field: string | undefined): string {
  const known: Record<string, string> = REQUEST_FIELD;
  return (field && known[field]) || REQUEST_FIELD.action;
}

function textValue(view: ViewOutput, block: string): string | undefined {
  return view.state.values[block]?.[INPUT]?.value ?? undefined;
}

function selectedValue(view: ViewOutput, block: string): string | undefined {
  return view.state.values[block]?.[INPUT]?.selected_option?.value ?? undefined;
}

function parseMetadata(text: string): RequestModalMetadata {
  try {
    const parsed = JSON.parse(text) as RequestModalMetadata;
    return typeof parsed.channel === 'string' ? { channel: parsed.channel } : {};
  } catch {
    return {};
  }
}

