/**
 * The card's buttons (also on App Home): Approve, Reject, Retry, Give up / Cancel. Each acks at once; the card
 * itself is updated by the publisher from the audit log, so a click only changes the store.
 */
import type { App, BlockAction, ButtonAction, SlackActionMiddlewareArgs, AllMiddlewareArgs } from '@slack/bolt';
import { homeRequestIds } from '../blocks/home.js';
import { confirmModal, rejectModal } from '../blocks/modals.js';
import { SLACK_ACTION_ID } from '../block-ids.js';
import { mayBeRequestId, noSuchRequest } from '../parse.js';
import { parseCardRef } from '../surface.js';
import { warning } from '../text.js';
import { publishHome } from './home.js';
import { failureText, unexpectedFailureText, type ListenerDeps } from './shared.js';

export type ButtonArgs = SlackActionMiddlewareArgs<BlockAction<ButtonAction>> & AllMiddlewareArgs;

export function registerDecisionButtons(app: App, deps: ListenerDeps): void {
  const { desk, surface } = deps;

  // The vote is stored BEFORE the ack (the match check and one store commit fit inside Slack's 3 s): a process
  // killed after an ack it had not backed with a stored vote would leave the approver believing they approved.
  app.action<BlockAction<ButtonAction>>(SLACK_ACTION_ID.approve, async (args) => {
    const user = args.body.user.id;
    let answer: string | undefined;
    let result: Awaited<ReturnType<typeof desk.decisions.approve>> | undefined;
    try {
      answer = await clickRefusal(args, deps);
      if (answer === undefined) result = await desk.decisions.approve(args.action.value ?? '', user);
    } catch (err) {
      deps.logger.error({ err, request: args.action.value }, 'an approval click failed');
      answer = unexpectedFailureText(err);
    }
    await args.ack();
    if (result && !result.ok && result.code === 'confirmation_mismatch' && result.request) {
      // Destructive: the approver types the username in a modal first. The vote checks above already passed.
      await surface
        .openView(args.body.trigger_id, confirmModal(result.request), user)
        .catch((err) => tell(args, deps, unexpectedFailureText(err)));
    } else if (result && !result.ok) {
      answer = failureText(result);
    }
    if (answer !== undefined) await tell(args, deps, answer);
    await refreshHomeAfterClick(args, deps);
  });

  app.action<BlockAction<ButtonAction>>(
    SLACK_ACTION_ID.reject,
    guarded(deps, async (args, id) => {
      const user = args.body.user.id;
      const request = await desk.queries.get(id);
      if (!request) return tell(args, deps, ':warning: That request no longer exists.');
      if (request.state !== 'pending')
        return tell(args, deps, failureText({ ok: false, code: 'already_decided', message: '', request }));
      if (!(await desk.plans.policy.isApprover(user)))
        return tell(args, deps, ':warning: Only the approvers named in the AccountDesk config can reject requests.');
      await surface.openView(args.body.trigger_id, rejectModal(request), user);
    }),
  );

  app.action<BlockAction<ButtonAction>>(
    SLACK_ACTION_ID.retry,
    guarded(deps, async (args, id) => {
      const result = await desk.engine.retry(id, args.body.user.id);
      if (!result.ok) return tell(args, deps, failureText(result));
    }),
  );

  app.action<BlockAction<ButtonAction>>(
    SLACK_ACTION_ID.cancel,
    guarded(deps, async (args, id) => {
      const result = await desk.decisions.cancel(id, args.body.user.id);
      if (!result.ok) return tell(args, deps, failureText(result));
      if (args.body.view?.type === 'home') await tell(args, deps, `Cancelled ${result.request.id}.`);
    }),
  );
}

/**
 * Acks at once (docs/slack.md#acknowledge-within-3-seconds), checks that the click's request is the one its card or
 * Home showed, then runs the handler with that request id; if it throws (Slack or the store failed underneath), the
 * clicker is told in words instead of seeing nothing happen.
 */
export function guarded(
  deps: ListenerDeps,
  handler: (args: ButtonArgs, requestId: string) => Promise<void>,
): (args: ButtonArgs) => Promise<void> {
  return async (args) => {
    await args.ack();
    try {
      const refusal = await clickRefusal(args, deps);
      if (refusal === undefined) await handler(args, args.action.value ?? '');
      else await tell(args, deps, refusal);
    } catch (err) {
      deps.logger.error({ err, action: args.action.action_id, request: args.action.value }, 'a button click failed');
      await tell(args, deps, unexpectedFailureText(err));
    }
    await refreshHomeAfterClick(args, deps);
  };
}

/** How long a click waits for its card's location to be recorded (ms); a refusal after that says nothing was done. */
const CARD_REF_WAIT_MS = 2_000;

/**
 * Why a click must not act, or undefined when it may. A button's value names a request; Slack signs the payload,
 * but so can anyone holding the signing secret or app token, so the value must match where the click came from:
 * the card of that very request (its channel and message ts, as stored when it was posted), or a Home this app
 * published for the clicker with a button for it (the Home's signed private_metadata lists those).
 */
export async function clickRefusal(args: ButtonArgs, deps: ListenerDeps): Promise<string | undefined> {
  const id = args.action.value ?? '';
  const { body } = args;
  const refuse = (why: string) => {
    deps.logger.warn(
      { user: body.user.id, action: args.action.action_id, request: id.slice(0, 64), why },
      'refused a click that does not match where it came from',
    );
    return warning('This button does not belong to that request; nothing was done.');
  };
  if (!mayBeRequestId(id)) return warning(noSuchRequest(id));
  if (body.view?.type === 'home') {
    const listed = deps.surface.issuedMetadata(body.view, body.user.id);
    if (listed === undefined) return refuse('the Home view was not published by this app for this person');
    return homeRequestIds(listed).includes(id) ? undefined : refuse('the Home view has no button for it');
  }
  const channel = body.channel?.id;
  const ts = body.message?.ts;
  if (!channel || !ts) return refuse('the click came from neither a card nor App Home');
  const request = await deps.desk.queries.get(id);
  if (!request) return warning(noSuchRequest(id));
  let ref = await deps.cardOf(id);
  // The publisher records where the card is as soon as chat.postMessage answers: a quick click can land in between.
  for (let waited = 0; ref === undefined && waited < CARD_REF_WAIT_MS; waited += 100) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    ref = await deps.cardOf(id);
  }
  const card = ref ? parseCardRef(ref) : undefined;
  return card?.channel === channel && card.ts === ts ? undefined : refuse("the request's card is another message");
}

/**
 * An answer only the clicker sees: ephemeral through response_url for a message button, a DM for App Home
 * (a Home tab click carries no response_url).
 */
export async function tell(args: ButtonArgs, deps: ListenerDeps, text: string): Promise<void> {
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

/** A click on the Home tab changes what it should list: show the person the new state. */
export async function refreshHomeAfterClick(args: ButtonArgs, deps: ListenerDeps): Promise<void> {
  if (args.body.view?.type !== 'home') return;
  await publishHome(deps, args.body.user.id).catch((err) => deps.logger.warn({ err }, 'could not refresh App Home'));
}
