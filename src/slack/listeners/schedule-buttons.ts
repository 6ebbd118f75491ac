/**
 * Buttons about scheduled steps: an approver's "Cancel scheduled step" (card, App Home, `/account scheduled`), and
 * the requester's "Ask for more time" in the DM before a step runs, which opens the request form prefilled.
 */
import type { App, BlockAction, ButtonAction } from '@slack/bolt';
import { formatBytes } from '../../requests/sizes.js';
import type { AccountRequest } from '../../requests/types.js';
import { requestModal, type RequestFormPrefill } from '../blocks/modals.js';
import { SLACK_ACTION_ID } from '../block-ids.js';
import { mayBeRequestId, noSuchRequest } from '../parse.js';
import { warning } from '../text.js';
import { backendsFor, offeredActions, offeredPlans } from './command.js';
import { clickRefusal, refreshHomeAfterClick, tell, type ButtonArgs } from './decide-buttons.js';
import { failureText, unexpectedFailureText, type ListenerDeps } from './shared.js';

export function registerScheduleButtons(app: App, deps: ListenerDeps): void {
  app.action<BlockAction<ButtonAction>>(SLACK_ACTION_ID.scheduleCancel, async (args) => {
    await args.ack();
    const id = args.action.value ?? '';
    try {
      // A card or App Home click must match where it came from (decide-buttons.ts). The ephemeral
      // `/account scheduled` list has no stored message to match it against: there the domain's own check (only an
      // approver may cancel) is the guard, and the cancel is audited under the clicker's name.
      const refusal = isEphemeral(args)
        ? mayBeRequestId(id)
          ? undefined
          : warning(noSuchRequest(id))
        : await clickRefusal(args, deps);
      if (refusal !== undefined) {
        await tell(args, deps, refusal);
      } else {
        const result = await deps.desk.schedules.cancel(id, args.body.user.id);
        await tell(
          args,
          deps,
          result.ok
            ? `Cancelled what was scheduled on ${result.request.id}; the audit log records it.`
            : failureText(result),
        );
      }
    } catch (err) {
      deps.logger.error({ err, request: id }, 'cancelling a scheduled step failed');
      await tell(args, deps, unexpectedFailureText(err));
    }
    await refreshHomeAfterClick(args, deps);
  });

  // Only opens a form (nothing changes until it is submitted and approved), and only for the person who asked.
  app.action<BlockAction<ButtonAction>>(SLACK_ACTION_ID.scheduleExtend, async (args) => {
    await args.ack();
    const id = args.action.value ?? '';
    const user = args.body.user.id;
    try {
      const request = mayBeRequestId(id) ? await deps.desk.queries.get(id) : undefined;
      if (!request) return await tell(args, deps, warning(noSuchRequest(id)));
      if (request.requester !== user) {
        return await tell(args, deps, warning(`Only the person who asked for ${request.id} can ask for more time.`));
      }
      await deps.surface.openView(
        args.body.trigger_id,
        requestModal({
          actions: offeredActions(deps),
          plans: offeredPlans(deps),
          profiles: deps.desk.plans.profiles,
          backends: backendsFor(deps),
          metadata: { extends: request.id },
          prefill: extensionOf(request),
        }),
        user,
      );
    } catch (err) {
      deps.logger.error({ err, request: id }, 'opening the extension form failed');
      await tell(args, deps, unexpectedFailureText(err));
    }
  });
}

/**
 * The request that asks for more time: the account kept enabled (or the quota kept) until a later day. Once it is
 * approved, the original's scheduled step is cancelled and this one's runs instead (src/requests/schedules.ts).
 */
function extensionOf(request: AccountRequest): RequestFormPrefill {
  const scheduled = request.steps.find((s) => s.notBefore !== undefined && s.state === 'pending');
  const first = request.steps[0];
  const reason = `More time than ${request.id} gave`;
  const until = scheduled?.notBefore?.slice(0, 10);
  if (scheduled?.action === 'quota' && first) {
    const quota = first.params.quotaBytes;
    return {
      action: 'quota',
      backend: first.backend,
      username: first.username,
      ...(quota !== undefined ? { quota: formatBytes(quota) } : {}),
      ...(until ? { until } : {}),
      reason,
    };
  }
  return {
    action: 'enable',
    backend: scheduled?.backend ?? first?.backend,
    username: request.username,
    ...(until ? { until } : {}),
    reason,
  };
}

function isEphemeral(args: ButtonArgs): boolean {
  return (args.body.container as { is_ephemeral?: boolean } | undefined)?.is_ephemeral === true;
}
