/**
 * The slash command: parse, ack at once, then do the work and answer ephemerally
 * (docs/slack.md#acknowledge-within-3-seconds).
 */
import type { App, RespondFn } from '@slack/bolt';
import type { RequestPage } from '../../requests/queries.js';
import { REQUEST_ACTIONS } from '../../requests/types.js';
import { infoText, helpText, listText, receiptText, requestLine } from '../blocks/messages.js';
import { requestModal, type FormPlan } from '../blocks/modals.js';
import { scheduledListBlocks } from '../blocks/scheduled-list.js';
import { noSuchRequest, parseCommand, type ParsedCommand } from '../parse.js';
import { esc, warning } from '../text.js';
import { openBatchModal } from './batch.js';
import { failureText, unexpectedFailureText, unexpectedFailureWords, type ListenerDeps } from './shared.js';

/**
 * Requests per list in a `pending` answer. listText shows at most 20 lines within one section's 3000 characters;
 * an ordinary line is 150-170 characters (18 fitted in the test), so 15 leave room for longer ones. A page of
 * unusually long lines shows fewer, and its "…and N more" still counts the ones it left out.
 */
const LIST_PAGE = 15;

export function registerCommand(app: App, deps: ListenerDeps): void {
  const { desk, command } = deps;

  app.command(command, async ({ ack, command: body, respond }) => {
    const parsed = parseCommand(body.text ?? '', command);
    if (parsed.kind === 'error') {
      await ack({ response_type: 'ephemeral', text: warning(parsed.message) });
      return;
    }
    if (parsed.kind === 'help') {
      // An answer that needs no store or backend goes in the ack's body: one HTTP exchange instead of a second
      // call to response_url (docs/slack.md#acknowledge-within-3-seconds).
      await ack({ response_type: 'ephemeral', text: help(deps) });
      return;
    }
    if (parsed.kind === 'batch') {
      await ack();
      await openBatchModal(deps, body.trigger_id, body.user_id, body.channel_id, respond);
      return;
    }
    if (parsed.kind === 'modal') {
      // trigger_id is valid 3 s and usable once: open the modal before anything slow
      // (docs/slack.md#modals-and-trigger-ids).
      await ack();
      try {
        await deps.surface.openView(
          body.trigger_id,
          requestModal({
            actions: offeredActions(deps),
            plans: offeredPlans(deps),
            profiles: deps.desk.plans.profiles,
            backends: backendsFor(deps),
            metadata: { channel: body.channel_id },
          }),
          body.user_id,
        );
      } catch (err) {
        deps.logger.warn({ err }, 'could not open the request form');
        await say(
          respond,
          `:warning: The form did not open (${esc(unexpectedFailureWords(err))}). ` +
            `Try again, or type the request: \`${command} help\`.`,
          deps,
        );
      }
      return;
    }
    await ack();
    const reply = (text: string) => say(respond, text, deps);
    const user = body.user_id;
    try {
      if (parsed.kind === 'scheduled') {
        const { everyone, requests } = await desk.schedules.upcoming(user);
        const list = scheduledListBlocks(requests, { everyone, canCancel: everyone });
        await respond({ response_type: 'ephemeral', text: list.text, blocks: list.blocks });
        return;
      }
      await answer(parsed, user, reply);
    } catch (err) {
      // Acked already: without this the person would see nothing at all (e.g. Slack refused usergroups.users.list).
      deps.logger.error({ err, verb: parsed.kind }, 'a slash command failed');
      await reply(unexpectedFailureText(err));
    }
  });

  async function answer(
    parsed: Exclude<ParsedCommand, { kind: 'error' | 'modal' | 'scheduled' | 'help' | 'batch' }>,
    user: string,
    reply: (text: string) => Promise<void>,
  ): Promise<void> {
    switch (parsed.kind) {
      case 'request': {
        const result = await desk.decisions.submit(parsed.draft, user);
        if (!result.ok) return reply(`${warning(result.message)}\nSee \`${command} help\`.`);
        return reply(receiptText(result.request));
      }
      case 'cancel': {
        const result = await desk.decisions.cancel(parsed.id, user);
        if (!result.ok) return reply(failureText(result));
        return reply(`Cancelled ${result.request.id}.`);
      }
      case 'status': {
        const request = await desk.queries.get(parsed.id);
        return reply(request ? requestLine(request) : warning(noSuchRequest(parsed.id)));
      }
      case 'pending': {
        // One page of each list, read from its index; `pending 2` shows the next (docs/architecture.md#index-pages).
        const page = parsed.page ?? 1;
        const offset = (page - 1) * LIST_PAGE;
        const next = `\`${command} pending ${page + 1}\``;
        const section = (title: string, { requests, total }: RequestPage) =>
          requests.length === 0 && total > 0
            ? `${title}: none on this page (${total} in all, from \`${command} pending\`).`
            : listText(title, requests, total - offset, next);
        const lines = [section('Your open requests', await desk.queries.openForRequester(user, LIST_PAGE, offset))];
        if (await desk.plans.policy.isApprover(user)) {
          lines.push(section('Waiting for approvers', await desk.queries.pendingPage(LIST_PAGE, offset)));
        }
        return reply(lines.join('\n\n'));
      }
      case 'doctor': {
        if (!(await desk.plans.policy.isApprover(user)) || !deps.doctor) {
          return reply(':warning: Only approvers can run the doctor.');
        }
        return reply(doctorText(await deps.doctor()));
      }
      case 'info': {
        const result = await desk.queries.info(parsed.backend, parsed.username, user);
        if (!result.ok) return reply(warning(result.message));
        return reply(infoText(result.backend.name, result.backend.kind, parsed.username, result.state));
      }
    }
  }
}

/** The help text for what the policy enables and the backends can do. */
function help(deps: ListenerDeps): string {
  const { plans } = deps.desk;
  return helpText(
    deps.command,
    offeredActions(deps).map((action) => ({ action, backends: plans.backendsAble(action) })),
    offeredPlans(deps),
    Object.keys(plans.profiles),
  );
}

/** The doctor's report as a code block, cut at whole lines to fit one message section. */
function doctorText(report: string): string {
  const lines = report.split('\n');
  const kept: string[] = [];
  let length = 0;
  for (const line of lines) {
    // 3000 characters per section (docs/slack.md#limits), minus the fences and a note.
    if (length + line.length + 1 > 2_900) {
      kept.push(`… ${lines.length - kept.length} more lines: run npm run doctor on the host for all of them.`);
      break;
    }
    kept.push(line);
    length += line.length + 1;
  }
  return `\`\`\`\n${esc(kept.join('\n'))}\n\`\`\``;
}

/** Only the actions the policy enables and at least one backend can do. */
export function offeredActions(deps: ListenerDeps) {
  const { plans } = deps.desk;
  return REQUEST_ACTIONS.filter((action) => plans.policy.isEnabled(action) && plans.backendsAble(action).length > 0);
}

/** Onboarding where the policy enables it and profiles exist; offboarding where the policy enables it. */
export function offeredPlans(deps: ListenerDeps): FormPlan[] {
  const { plans } = deps.desk;
  const offered: FormPlan[] = [];
  if (plans.policy.isEnabled('onboard') && Object.keys(plans.profiles).length > 0) offered.push('onboard');
  if (plans.policy.isEnabled('offboard')) offered.push('offboard');
  return offered;
}

export function backendsFor(deps: ListenerDeps) {
  const { plans } = deps.desk;
  return plans.backendNames().map((name) => ({ name, kind: plans.backend(name)!.kind }));
}

async function say(respond: RespondFn, text: string, deps: ListenerDeps): Promise<void> {
  try {
    await respond({ response_type: 'ephemeral', text });
  } catch (err) {
    deps.logger.warn({ err }, 'could not answer through response_url');
  }
}
