/**
 * Scheduled steps in Slack: their lines on the card and the receipt, and the approvers' Cancel button. Pure
 * builders. Times use Slack's <!date^...> formatting (`when`), so every reader sees their own time zone.
 */
import type { types } from '@slack/bolt';
import { formatBytes } from '../../requests/sizes.js';
import type { AccountRequest, Step } from '../../requests/types.js';
import { SLACK_ACTION_ID } from '../block-ids.js';
import { esc, when } from '../text.js';

/** A scheduled step in words: "disable alice on cloud", "restore bob's quota (to 10 GB) on nas". */
export function describeScheduledStep(step: Step): string {
  if (step.action === 'quota') {
    const to = step.expect ? ` to ${formatBytes(step.params.quotaBytes ?? null)}` : ' to what it was before';
    return `set the quota of ${step.username} back${to} on ${step.backend}`;
  }
  return `${step.action} ${step.username} on ${step.backend}`;
}

/** The scheduled steps of a request, one line each with when (and, once settled, what came of it). */
export function scheduledLines(request: AccountRequest): string[] {
  return request.steps
    .filter((s) => s.notBefore !== undefined)
    .map((step) => {
      const at = when(step.notBefore as string);
      const what = esc(describeScheduledStep(step));
      if (step.state === 'pending') return `:calendar: ${what} ${at}`;
      if (step.state === 'applying') return `:gear: ${what} (due ${at}): running now`;
      const result = step.state === 'failed' ? step.error?.message : step.result?.summary;
      return `:calendar: ${what} (due ${at}): ${step.state}${result ? ` — ${esc(result)}` : ''}`;
    });
}

/** "Time limit: disable alice on cloud <date>.": for the receipt; empty when the request has none. */
export function timeLimitNote(request: AccountRequest): string {
  const lines = scheduledLines(request);
  return lines.length === 0 ? '' : ` Time limit: ${lines.map((l) => l.replace(':calendar: ', '')).join('; ')}.`;
}

/** The Cancel button an approver gets beside a scheduled step. */
export function scheduleCancelButton(requestId: string): types.Button {
  return {
    type: 'button',
    action_id: SLACK_ACTION_ID.scheduleCancel,
    text: { type: 'plain_text', text: 'Cancel scheduled step' },
    value: requestId,
    confirm: {
      title: { type: 'plain_text', text: 'Cancel it?' },
      text: { type: 'plain_text', text: 'The scheduled step will not run. The audit log records who cancelled it.' },
      confirm: { type: 'plain_text', text: 'Cancel it' },
      deny: { type: 'plain_text', text: 'Keep it' },
    },
  };
}
