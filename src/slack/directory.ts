/**
 * Approver user groups resolved through usergroups.users.list (scope usergroups:read), cached for a minute so a
 * burst of clicks costs one call per group, and so a membership change takes effect within a minute.
 */
import type { webApi } from '@slack/bolt';
import type { Directory } from '../requests/policy.js';

const CACHE_MS = 60_000;
/** Shorter than CACHE_MS, so a kept-warm group never expires between refreshes. */
const REFRESH_MS = 45_000;

/**
 * Slack would not list an approver group's members. The policy fails closed (nobody counts as a member), and the
 * person who clicked is shown this message, so it says what the operator has to fix.
 */
export class DirectoryError extends Error {
  override readonly name = 'DirectoryError';
  constructor(
    readonly groupId: string,
    readonly slackError: string,
    options?: { cause?: unknown },
  ) {
    super(directoryErrorText(groupId, slackError), options);
  }
}

function directoryErrorText(groupId: string, code: string): string {
  const what = `AccountDesk could not check who is in the approver group ${groupId} (Slack said ${code})`;
  if (code === 'missing_scope' || code === 'not_allowed_token_type') {
    return `${what}: add the usergroups:read scope to the Slack app and reinstall it. Nothing was changed.`;
  }
  if (code === 'no_such_subteam' || code === 'subteam_not_found') {
    return `${what}: fix approvers.groups in the AccountDesk config (the user group ID, S...). Nothing was changed.`;
  }
  return `${what}. Nothing was changed; try again in a minute.`;
}

export class SlackDirectory implements Directory {
  private readonly cache = new Map<string, { members: string[]; until: number }>();

  constructor(
    private readonly client: webApi.WebClient,
    private readonly now: () => number = Date.now,
  ) {}

  async membersOf(groupId: string): Promise<string[]> {
    const cached = this.cache.get(groupId);
    if (cached && cached.until > this.now()) return cached.members;
    return this.fetch(groupId);
  }

  private async fetch(groupId: string): Promise<string[]> {
    let members: string[];
    try {
      const res = await this.client.usergroups.users.list({ usergroup: groupId });
      members = res.users ?? [];
    } catch (err) {
      const data = (err as { data?: { error?: string } }).data;
      throw new DirectoryError(groupId, data?.error ?? (err as { code?: string }).code ?? 'no answer', { cause: err });
    }
    this.cache.set(groupId, { members, until: this.now() + CACHE_MS });
    return members;
  }

  /**
   * Refreshes these groups before their cache runs out, so a click never waits on usergroups.users.list: a
   * button that opens a modal has 3 s to use its trigger_id (docs/slack.md#modals-and-trigger-ids), and a form's
   * inline errors ride on its ack. A failed refresh is logged; the next click then asks Slack itself and fails closed
   * if it must.
   */
  keepWarm(groupIds: readonly string[], onError: (err: unknown) => void): void {
    const groups = [...new Set(groupIds)];
    if (groups.length === 0) return;
    const refresh = () => {
      // The cached list keeps answering while the fresh one is fetched.
      for (const group of groups) this.fetch(group).catch(onError);
    };
    refresh();
    this.warmer = setInterval(refresh, REFRESH_MS);
    this.warmer.unref();
  }

  stop(): void {
    if (this.warmer) clearInterval(this.warmer);
  }

  private warmer: NodeJS.Timeout | undefined;
}
