import { checkDisplayName, checkEmail, checkGroup } from '../fields.js';
import { formatBytes, parseQuota } from '../sizes.js';
import type { RequestParams } from '../types.js';
import type { ActionKind } from './kind.js';

export const createAction: ActionKind = {
  name: 'create',
  done: 'created',
  destructive: false,
  enabledByDefault: true,
  usage: 'create <backend> <username> [email] [quota] [group,group] [reason]',

  checkParams(draft, backend) {
    const params: RequestParams = {};
    if (draft.email !== undefined && draft.email.trim() !== '') {
      const email = checkEmail(draft.email);
      if (!email.ok) return { ok: false, field: 'email', message: email.message };
      params.email = email.value;
    } else if (backend.emailRequiredBecause) {
      return {
        ok: false,
        field: 'email',
        message: `An email address is required: ${backend.name} needs one because ${backend.emailRequiredBecause}.`,
      };
    }
    if (draft.displayName !== undefined && draft.displayName.trim() !== '') {
      const name = checkDisplayName(draft.displayName);
      if (!name.ok) return { ok: false, field: 'displayName', message: name.message };
      params.displayName = name.value;
    }
    if (draft.quota !== undefined && draft.quota.trim() !== '') {
      const quota = parseQuota(draft.quota);
      if (!quota.ok) return { ok: false, field: 'quota', message: quota.message };
      params.quotaBytes = quota.bytes;
    }
    const groups = (draft.groups ?? []).filter((g) => g.trim() !== '');
    if (groups.length > 0) {
      if (!backend.capabilities.has('groups')) {
        return { ok: false, field: 'groups', message: `${backend.name} does not manage groups; leave groups out.` };
      }
      const cleaned: string[] = [];
      for (const group of groups) {
        const check = checkGroup(group);
        if (!check.ok) return { ok: false, field: 'groups', message: check.message };
        if (!cleaned.includes(check.value)) cleaned.push(check.value);
      }
      params.groups = cleaned;
    }
    return { ok: true, params };
  },

  describe({ username, params }) {
    const details = [
      params.email,
      params.displayName ? `"${params.displayName}"` : undefined,
      params.quotaBytes !== undefined ? `quota ${formatBytes(params.quotaBytes)}` : undefined,
      params.groups?.length ? `groups ${params.groups.join(', ')}` : undefined,
    ].filter(Boolean);
    return `create ${username}${details.length ? ` (${details.join(', ')})` : ''}`;
  },

  assess({ username }, current) {
    if (current.exists) return { change: `new user ${username}`, blocker: 'a user with this name already exists' };
    return { change: `new user ${username}` };
  },

  apply(backend, step, password) {
    const { email, displayName, quotaBytes, groups, expiresOn } = step.params;
    return backend.createUser({
      username: step.username,
      email,
      displayName,
      quotaBytes,
      groups,
      password,
      ...(expiresOn ? { expiresOn } : {}),
    });
  },

  isDone({ params }, current) {
    if (!current.exists) return false;
    // A create is not atomic on Nextcloud (docs/nextcloud-ocs.md#creating-a-user): the user can exist without the email
    // or quota asked for. Only a user that matches the request counts as done.
    if (params.email && current.email != null && current.email.toLowerCase() !== params.email.toLowerCase())
      return false;
    if (params.quotaBytes !== undefined && current.quota && current.quota.limitBytes !== params.quotaBytes)
      return false;
    return true;
  },
};
