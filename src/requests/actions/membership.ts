/**
 * Group membership: join adds a user to one group, leave removes them from one. Shared here because the two
 * differ only in direction; each is still its own ActionKind (join.ts, leave.ts).
 */
import { checkGroup } from '../fields.js';
import type { ActionKind, ParamsCheck, Draft } from './kind.js';
import type { BackendClient } from '../../backends/types.js';

/** Exactly one group, named in `groups`. */
function checkOneGroup(draft: Draft, backend: BackendClient): ParamsCheck {
  if (!backend.capabilities.has('groups')) {
    return { ok: false, field: 'groups', message: `${backend.name} does not manage groups.` };
  }
  const groups = (draft.groups ?? []).map((g) => g.trim()).filter(Boolean);
  if (groups.length !== 1) return { ok: false, field: 'groups', message: 'Name exactly one group.' };
  const group = checkGroup(groups[0]!);
  return group.ok
    ? { ok: true, params: { groups: [group.value] } }
    : { ok: false, field: 'groups', message: group.message };
}

function groupOf(step: { params: { groups?: string[] } }): string {
  const group = step.params.groups?.[0];
  if (!group) throw new Error('a membership request without a group');
  return group;
}

/** The parts of join and leave that differ. */
export function membershipAction(direction: 'join' | 'leave'): ActionKind {
  const joining = direction === 'join';
  return {
    name: direction,
    done: joining ? 'added to the group' : 'removed from the group',
    destructive: false,
    // Group membership can grant access (an admin group, a shared folder): off unless the policy enables it.
    enabledByDefault: false,
    capability: 'groups',
    usage: `${direction} <backend> <username> <group> [reason]`,
    checkParams: checkOneGroup,
    describe: (step) =>
      joining
        ? `add ${step.username} to group ${groupOf(step)}`
        : `remove ${step.username} from group ${groupOf(step)}`,
    assess(step, current) {
      const group = groupOf(step);
      const change = joining ? `not in ${group} → in ${group}` : `in ${group} → not in ${group}`;
      if (!current.exists) return { change, blocker: 'user does not exist' };
      const member = current.groups?.includes(group);
      if (member === joining) return { change, noOp: joining ? `already in ${group}` : `not in ${group}` };
      return { change };
    },
    apply(backend, step) {
      // Called as methods (not pulled off the object) so that `this` stays the backend.
      if (joining && backend.addToGroup) return backend.addToGroup(step.username, groupOf(step));
      if (!joining && backend.removeFromGroup) return backend.removeFromGroup(step.username, groupOf(step));
      throw new Error(`${backend.name} cannot change group membership`);
    },
    isDone: (step, current) =>
      current.exists && current.groups !== undefined && current.groups.includes(groupOf(step)) === joining,
  };
}
