/**
 * The card's buttons (also on App Home): Approve, Reject, Retry, Give up / Cancel. Each acks at once; the card
 * itself is updated by the publisher from the audit log, so a click only changes the store.
 */
import type { App, BlockAction, ButtonAction, SlackActionMiddlewareArgs, AllMiddlewareArgs } from '@slack/bolt';
import { confirmModal, rejectModal } from '../blocks/modals.js';
import { SLACK_ACTION_ID } from '../block-ids.js';
import { publishHome } from './home.js';
import { failureText, unexpectedFailureText, type ListenerDeps } from './shared.js';

type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export function registerDecisionButtons(app: App, deps: ListenerDeps): void {
  const { desk, surface } = deps;

  // The vote is stored BEFORE the ack (one store commit fits well inside Slack's 3 s): a process killed after an
  // ack it had not yet backed with a stored vote would leave the approver believing they had approved.
  app.action<BlockAction<ButtonAction>>(SLACK_ACTION_ID.approve, async (args) => {
    const user = args.body.user.id;
    let result: Awaited<ReturnType<typeof desk.decisions.approve>>;
    try {
      result = await desk.decisions.approve(args.action.value ?? '', user);
    } catch (err) {
      await args.ack();
      deps.logger.error({ err, request: args.action.value }, 'an approval click failed');
      await tell(args, deps, unexpectedFailureText(err));
      return;
    }
    await args.ack();
    if (!result.ok && result.code === 'confirmation_mismatch' && result.request) {
      // Destructive: the approver types the username in a modal first. The vote checks above already passed.
      await surface
        .openView(args.body.trigger_id, confirmModal(result.request))
        .catch((err) => tell(args, deps, unexpectedFailureText(err)));
    } else if (!result.ok) {
      await tell(args, deps, failureText(result));
    }
    await refreshHomeAfterClick(args, deps);
  });

  app.action<BlockAction<ButtonAction>>(
    SLACK_ACTION_ID.reject,
    guarded(deps, async (args) => {
      const user = args.body.user.id;
      const request = await desk.queries.get(args.action.value ?? '');
      if (!request) return tell(args, deps, ':warning: That request no longer exists.');
      if (request.state !== 'pending')
        return tell(args, deps, failureText({ ok: false, code: 'already_decided', message: '', request }));
      if (!(await desk.plans.policy.isApprover(user)))
        return tell(args, deps, ':warning: Only the approvers named in the AccountDesk config can reject requests.');
      await surface.openView(args.body.trigger_id, rejectModal(request));
    }),
  );

  app.action<BlockAction<ButtonAction>>(
    SLACK_ACTION_ID.retry,
    guarded(deps, async (args) => {
      const result = await desk.engine.retry(args.action.value ?? '', args.body.user.id);
      if (!result.ok) return tell(args, deps, failureText(result));
    }),
  );

  app.action<BlockAction<ButtonAction>>(
    SLACK_ACTION_ID.cancel,
    guarded(deps, async (args) => {
      const result = await desk.decisions.cancel(args.action.value ?? '', args.body.user.id);
      if (!result.ok) return tell(args, deps, failureText(result));
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
    await refreshHomeAfterClick(args, deps);
  };
}

/** A click on the Home tab changes what it should list: show the person the new state. */
async function refreshHomeAfterClick(args: ButtonArgs, deps: ListenerDeps): Promise<void> {
  if (args.body.view?.type !== 'home') return;
  await publishHome(deps, args.body.user.id).catch((err) => deps.logger.warn({ err }, 'could not refresh App Home'));
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
