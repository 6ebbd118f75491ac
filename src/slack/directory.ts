/**
 * Approver user groups resolved through usergroups.users.list (scope usergroups:read), cached for a minute so a
 * burst of clicks costs one call per group, and so a membership change takes effect within a minute.
 */
import type { webApi } from '@slack/bolt';
import type { Directory } from '../requests/policy.js';

const CACHE_MS = 60_000;

export class SlackDirectory implements Directory {
  private readonly cache = new Map<string, { members: string[]; until: number }>();

  constructor(
    private readonly client: webApi.WebClient,
    private readonly now: () => number = Date.now,
  ) {}

  async membersOf(groupId: string): Promise<string[]> {
    const cached = this.cache.get(groupId);
    if (cached && cached.until > this.now()) return cached.members;
    const res = await this.client.usergroups.users.list({ usergroup: groupId });
    const members = res.users ?? [];
    this.cache.set(groupId, { members, until: this.now() + CACHE_MS });
    return members;
  }
}
