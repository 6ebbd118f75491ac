/**
 * The card's buttons (also on App Home): Approve, Reject, Retry, Give up / Cancel. Each acks at once; the card
 * itself is updated by the publisher from the audit log, so a click only changes the store.
 */
import type { App, BlockAction, ButtonAction, SlackActionMiddlewareArgs, AllMiddlewareArgs } from '@slack/bolt';
import { confirmModal, rejectModal } from '../blocks/modals.js';
import { SLACK_ACTION_ID } from '../block-ids.js';
import { publishHome } from './home.js';
import { applyInBackground, failureText, unexpectedFailureText, type ListenerDeps } from './shared.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export function registerDecisionButtons(app: App, deps: ListenerDeps): void {
  const { service, surface } = deps;

  app.action<BlockAction<ButtonAction>>(
    SLACK_ACTION_ID.approve,
    guarded(deps, async (args) => {
      const user = args.body.user.id;
      const result = await service.approve(args.action.value ?? '', user);
      if (!result.ok && result.code === 'confirmation_mismatch' && result.request) {
        // Destructive: the approver types the username in a modal first. The vote checks above already passed.
        await surface.openView(args.body.trigger_id, confirmModal(result.request));
        return;
      }
      if (!result.ok) return tell(args, deps, failureText(result));
      if (result.complete) applyInBackground(deps, result.request);
      else deps.publisher.kick();
    }),
  );

  app.action<BlockAction<ButtonAction>>(
    SLACK_ACTION_ID.reject,
    guarded(deps, async (args) => {
      const user = args.body.user.id;
      const request = await service.get(args.action.value ?? '');
      if (!request) return tell(args, deps, ':warning: That request no longer exists.');
      if (request.state !== 'pending')
        return tell(args, deps, failureText({ ok: false, code: 'already_decided', message: '', request }));
      if (!(await service.policy.isApprover(user)))
        return tell(args, deps, ':warning: Only the approvers named in the AccountDesk config can reject requests.');
      await surface.openView(args.body.trigger_id, rejectModal(request));
    }),
  );

  app.action<BlockAction<ButtonAction>>(
    SLACK_ACTION_ID.retry,
    guarded(deps, async (args) => {
      const result = await service.retry(args.action.value ?? '', args.body.user.id);
      if (!result.ok) return tell(args, deps, failureText(result));
      deps.publisher.kick();
    }),
  );

  app.action<BlockAction<ButtonAction>>(
    SLACK_ACTION_ID.cancel,
    guarded(deps, async (args) => {
      const result = await service.cancel(args.action.value ?? '', args.body.user.id);
      if (!result.ok) return tell(args, deps, failureText(result));
      deps.publisher.kick();
      if (args.body.view?.type === 'home') await tell(args, deps, `Cancelled ${result.request.id}.`);
    }),
  );
}

/**
 * Acks at once (docs/slack.md#acknowledge-within-3-seconds), then runs the handler; if it throws (Slack or the store
 * failed underneath), the clicker is told in words instead of seeing nothing happen.
 */
function guarded(
  deps: ListenerDeps,
  handler: (args: ButtonArgs) => Promise<void>,
): (args: ButtonArgs) => Promise<void> {
  return async (args) => {
    await args.ack();
    try {
      await handler(args);
    } catch (err) {
      deps.logger.error({ err, action: args.action.action_id, request: args.action.value }, 'a button click failed');
      await tell(args, deps, unexpectedFailureText(err));
    }
    // A click on the Home tab changes what it should list: show the person the new state.
    if (args.body.view?.type === 'home') {
      await publishHome(deps, args.body.user.id).catch((err) =>
        deps.logger.warn({ err }, 'could not refresh App Home'),
      );
    }
  };
}

/**
 * An answer only the clicker sees: ephemeral through response_url for a message button, a DM for App Home
 * (a Home tab click carries no response_url).
 */
async function tell(args: ButtonArgs, deps: ListenerDeps, text: string): Promise<void> {
  try {
    if (args.respond && args.body.response_url) {
      await args.respond({ response_type: 'ephemeral', replace_original: false, text });
    } else {
      await deps.surface.dm(args.body.user.id, text);
    }
  } catch (err) {
    deps.logger.warn({ err }, 'could not tell the user why their click did nothing');
  }
}
