/**
 * Batches in Slack: `/account batch` opens the form; its submission is checked row by row BEFORE the ack, so every
 * invalid line comes back inline with its number and why (docs/slack.md#acknowledge-within-3-seconds); approvers
 * Pause, Resume or Cancel a running batch from its card. The card, its thread and the report are the publisher's
 * (src/slack/batch-thread.ts).
 */
import type { App, BlockAction, ButtonAction, RespondFn, ViewOutput } from '@slack/bolt';
import { BATCH_ROW_ACTIONS, MAX_BATCH_ROWS, describeInvalidRows, type BatchDraft } from '../../requests/batch.js';
import { batchModal } from '../blocks/batch.js';
import { receiptText } from '../blocks/messages.js';
import { BATCH_FIELD, INPUT, SLACK_ACTION_ID, VIEW } from '../block-ids.js';
import { FileTooLarge } from '../surface.js';
import { esc, warning } from '../text.js';
import { guarded, tell } from './decide-buttons.js';
import { failureText, unexpectedFailureWords, type ListenerDeps } from './shared.js';

/** A generous bound for MAX_BATCH_ROWS rows of five columns. */
const MAX_FILE_BYTES = MAX_BATCH_ROWS * 400;

export async function openBatchModal(
  deps: ListenerDeps,
  triggerId: string,
  user: string,
  channel: string,
  respond: RespondFn,
): Promise<void> {
  const { plans } = deps.desk;
  const backends = plans.backendNames().map((name) => ({ name, kind: plans.backend(name)!.kind }));
  try {
    await deps.surface.openView(
      triggerId,
      batchModal({ backends, profiles: Object.keys(plans.profiles), channel }),
      user,
    );
  } catch (err) {
    deps.logger.warn({ err }, 'could not open the batch form');
    await respond({
      response_type: 'ephemeral',
      text: `:warning: The batch form did not open (${esc(unexpectedFailureWords(err))}). Try again.`,
    });
  }
}

export function registerBatch(app: App, deps: ListenerDeps): void {
  const { desk } = deps;

  app.view(VIEW.batch, async ({ ack, view, body }) => {
    const user = body.user.id;
    const issued = deps.surface.issuedMetadata(view, user);
    const errorOn = (block: string, message: string) =>
      ack({ response_action: 'errors', errors: { [block]: message.slice(0, 1900) } });
    if (issued === undefined) {
      return errorOn(BATCH_FIELD.backend, 'This form was not opened by AccountDesk for you. Start again from Slack.');
    }
    let draft: BatchDraft;
    let checked: Awaited<ReturnType<typeof desk.plans.check>>;
    try {
      const form = await batchDraftFrom(view, deps);
      if (!form.ok) return await errorOn(form.block, form.message);
      draft = form.draft;
      checked = await desk.plans.check(draft, user);
    } catch (err) {
      deps.logger.error({ err }, 'checking a batch form failed');
      return errorOn(BATCH_FIELD.csv, unexpectedFailureWords(err));
    }
    if (!checked.ok) {
      const block =
        checked.field === 'backend'
          ? BATCH_FIELD.backend
          : checked.field === 'action'
            ? BATCH_FIELD.action
            : BATCH_FIELD.csv;
      return errorOn(block, checked.message);
    }
    await ack();
    let text: string;
    try {
      const result = await desk.decisions.submit(draft, user);
      const left = checked.valid.invalidRows ?? [];
      text = result.ok
        ? receiptText(result.request) +
          (left.length ? `\nLeft out (${left.length} invalid rows):\n${esc(describeInvalidRows(left, 50))}` : '')
        : warning(result.message);
    } catch (err) {
      deps.logger.error({ err }, 'storing a batch failed after its form was accepted');
      text = `:warning: Your batch could not be saved: ${esc(unexpectedFailureWords(err))} Please submit it again.`;
    }
    const channel = channelOf(issued);
    try {
      if (channel) await deps.surface.ephemeral(channel, user, text);
      else await deps.surface.dm(user, text);
    } catch {
      await deps.surface.dm(user, text).catch((err) => deps.logger.warn({ err }, 'could not send the receipt'));
    }
  });

  const control = (actionId: string, run: (id: string, approver: string) => ReturnType<typeof desk.batches.pause>) =>
    app.action<BlockAction<ButtonAction>>(
      actionId,
      guarded(deps, async (args, id) => {
        const result = await run(id, args.body.user.id);
        if (!result.ok) await tell(args, deps, failureText(result));
      }),
    );
  control(SLACK_ACTION_ID.pauseBatch, (id, user) => desk.batches.pause(id, user));
  control(SLACK_ACTION_ID.resumeBatch, (id, user) => desk.batches.resume(id, user));
  control(SLACK_ACTION_ID.cancelBatch, (id, user) => desk.batches.cancel(id, user));
}

type FormResult = { ok: true; draft: BatchDraft } | { ok: false; block: string; message: string };

async function batchDraftFrom(view: ViewOutput, deps: ListenerDeps): Promise<FormResult> {
  const values = view.state.values;
  const backend = values[BATCH_FIELD.backend]?.[INPUT]?.selected_option?.value ?? '';
  const action = values[BATCH_FIELD.action]?.[INPUT]?.selected_option?.value ?? '';
  if (!(BATCH_ROW_ACTIONS as readonly string[]).includes(action)) {
    return { ok: false, block: BATCH_FIELD.action, message: `Pick one of: ${BATCH_ROW_ACTIONS.join(', ')}.` };
  }
  const profile = values[BATCH_FIELD.profile]?.[INPUT]?.selected_option?.value;
  const pasted = values[BATCH_FIELD.csv]?.[INPUT]?.value ?? '';
  const files = (values[BATCH_FIELD.file]?.[INPUT] as { files?: { id?: unknown }[] } | undefined)?.files ?? [];
  const fileId = typeof files[0]?.id === 'string' ? files[0].id : undefined;
  if (pasted.trim() !== '' && fileId) {
    return { ok: false, block: BATCH_FIELD.csv, message: 'Paste the rows OR attach a file, not both.' };
  }
  let csv = pasted;
  if (fileId) {
    try {
      csv = (await deps.surface.readFile(fileId, MAX_FILE_BYTES)).text;
    } catch (err) {
      if (err instanceof FileTooLarge) return { ok: false, block: BATCH_FIELD.file, message: err.message };
      deps.logger.warn({ err }, 'could not read the batch file from Slack');
      return { ok: false, block: BATCH_FIELD.file, message: 'Slack did not hand over the file. Attach it again.' };
    }
  }
  if (csv.trim() === '') {
    return { ok: false, block: BATCH_FIELD.csv, message: 'Paste the rows (header line first) or attach a CSV file.' };
  }
  const skip = values[BATCH_FIELD.skipInvalid]?.[INPUT]?.selected_options ?? [];
  return {
    ok: true,
    draft: {
      action: 'batch',
      backend,
      rowAction: action as BatchDraft['rowAction'],
      ...(profile ? { profile } : {}),
      csv,
      reason: values[BATCH_FIELD.reason]?.[INPUT]?.value ?? undefined,
      skipInvalid: skip.some((o) => o.value === 'skip'),
    },
  };
}

function channelOf(metadata: string): string | undefined {
  try {
    const parsed = JSON.parse(metadata) as { channel?: unknown };
    return typeof parsed.channel === 'string' ? parsed.channel : undefined;
  } catch {
    return undefined;
  }
}
