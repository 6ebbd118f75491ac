/** What every listener needs, and the few helpers they share. */
import type { Logger } from 'pino';
import type { RequestDesk } from '../../requests/index.js';
import type { AccountRequest, Failure } from '../../requests/types.js';
import { DirectoryError } from '../directory.js';
import type { SlackSurface } from '../surface.js';
import { mention, warning, when } from '../text.js';

/**
 * Listeners only change the store through the domain (desk); the publisher and the engine learn of each change
 * from the domain's events, so no listener kicks the publisher or applies anything itself.
 */
export interface ListenerDeps {
  desk: RequestDesk;
  surface: SlackSurface;
  /** Where a request's card was posted ("channel/ts"), once the publisher has stored it. */
  cardOf(requestId: string): Promise<string | undefined>;
  /** The slash command as configured ("/account"). */
  command: string;
  logger: Logger;
  /** Runs the doctor and returns its report (src/ops/doctor.ts), for `/account doctor`. */
  doctor?: () => Promise<string>;
}

/**
 * Words for a click or command that failed unexpectedly after it was acknowledged, so the person is not left with
 * silence. A directory failure already says what to fix (it holds no secret); anything else points at the logs.
 */
export function unexpectedFailureText(err: unknown): string {
  return warning(unexpectedFailureWords(err));
}

/** The same words without the emoji, for plain-text places such as a modal's inline field error. */
export function unexpectedFailureWords(err: unknown): string {
  if (err instanceof DirectoryError) return err.message;
  return 'AccountDesk hit an unexpected error and could not finish this. An admin will find the details in its logs.';
}

/** Words for a refused decision; "already approved by X at T" is rendered from the stored request. */
export function failureText(failure: Failure): string {
  const request = failure.request;
  if (failure.code === 'already_decided' && request) return alreadyDecidedText(request);
  // Domain messages quote what was typed (an id, a username): escaped, or `cancel <@U…>` would ping that person.
  return warning(failure.message);
}

function alreadyDecidedText(request: AccountRequest): string {
  const lastVote = request.approvals.at(-1);
  switch (request.state) {
    case 'approved':
    case 'applying':
    case 'applied':
    case 'scheduled': {
      const by = lastVote ? `${mention(lastVote.by)} ${when(lastVote.at)}` : 'an approver';
      const applied =
        request.state === 'applied'
          ? ' and is applied'
          : request.state === 'scheduled'
            ? ' and is applied, with a scheduled step still to come'
            : '';
      return `${request.id} was already approved by ${by}${applied}. Nothing more to do.`;
    }
    case 'rejected':
    case 'cancelled': {
      const by = request.decision ? `${mention(request.decision.by)} ${when(request.decision.at)}` : 'someone';
      return `${request.id} was already ${request.state} by ${by}.`;
    }
    case 'expired':
      return `${request.id} expired ${request.decision ? when(request.decision.at) : ''} before anyone decided.`;
    case 'failed':
      return `${request.id} failed; an approver can Retry it from the card.`;
    case 'partly_applied':
      return `${request.id} was partly applied; an approver can Retry the failed steps from the card.`;
    default:
      return `${request.id} is ${request.state}.`;
  }
}
