/**
 * What each OCS status code means for each provisioning operation, in words an admin can act on. The same number
 * means different things per route (docs/nextcloud-ocs.md#creating-a-user, #editing-a-user, #endpoints-used).
 */
import { BackendError } from '../types.js';
import { OcsFailure } from './ocs.js';

export type NextcloudOperation =
  | 'createUser'
  | 'editUser'
  | 'disableUser'
  | 'enableUser'
  | 'deleteUser'
  | 'addToGroup'
  | 'removeFromGroup'
  | 'resendInvite';

export interface FailureContext {
  backend: string;
  op: NextcloudOperation;
  userId: string;
  group?: string;
  /** editUser: which field and the value shown to the admin (never a password). */
  field?: string;
  shownValue?: string;
}

/** Turns an OcsFailure into the operation's meaning; any other error passes through unchanged. */
export function explainFailure(err: unknown, ctx: FailureContext): unknown {
  if (!(err instanceof OcsFailure)) return err;
  const { backend, userId } = ctx;
  const code = err.statuscode;
  const said = err.ocsMessage ? ` (Nextcloud: "${err.ocsMessage}")` : '';
  const make = (kind: ConstructorParameters<typeof BackendError>[1], message: string, retryable?: boolean) =>
    new BackendError(backend, kind, message, {
      status: err.status,
      remoteCode: code,
      cause: err,
      ...(retryable === undefined ? {} : { retryable }),
    });
  // 998 / 404 on a route with {userid} in its path: the user is missing (or not visible to this admin).
  if (err.code === 'not_found') return make('not_found', `user '${userId}' does not exist on ${backend}${said}`);
  if (err.code !== 'invalid_input') return err; // forbidden / unavailable already carry their words

  switch (ctx.op) {
    case 'createUser':
      switch (code) {
        case 102:
          return make('already_exists', `'${userId}' already exists on ${backend}: nothing was changed`);
        case 104:
          return make(
            'invalid_input',
            `a group named for '${userId}' does not exist on ${backend}${said}: create the group in Nextcloud or ` +
              `remove it from the request`,
          );
        case 105:
        case 106:
          return make(
            'forbidden',
            `${backend} will not let this admin account put '${userId}' in the requested groups${said}: use a full ` +
              `admin account or name a group it administers`,
          );
        case 103:
        case 109:
          return make('invalid_input', `${backend} refused the sub-admin groups for '${userId}'${said}`);
        case 107:
          return make('password_policy', `${backend} refused the password under its password policy${said}`);
        case 108:
        case 110:
          return make(
            'invalid_input',
            `${backend} needs an email address to create '${userId}'${said}: add one to the request`,
          );
        case 111:
          return make('unknown', `${backend} could not generate an id for the new user${said}`);
        default:
          return make('invalid_input', `${backend} refused to create '${userId}'${said}`);
      }
    case 'editUser': {
      const what =
        ctx.field === 'quota'
          ? `the quota ${ctx.shownValue ?? ''}`.trim()
          : `the ${ctx.field ?? 'value'}${ctx.shownValue ? ` '${ctx.shownValue}'` : ''}`;
      if (ctx.field === 'quota' && /unlimited/i.test(err.ocsMessage)) {
        return make(
          'invalid_input',
          `${backend} forbids unlimited quotas${said}: ask for a size instead, or let its admin allow unlimited quotas`,
        );
      }
      if (ctx.field === 'quota' && /exceed|maximum/i.test(err.ocsMessage)) {
        return make(
          'invalid_input',
          `${backend} refused ${what} for '${userId}': it is above the instance's maximum quota${said}`,
        );
      }
      switch (code) {
        case 101:
        case 102:
          return make('invalid_input', `${backend} refused ${what} for '${userId}'${said}`);
        case 103:
        case 112:
          return make(
            'unsupported',
            `${backend} cannot change the ${ctx.field ?? 'value'} of '${userId}': the account's user backend does ` +
              `not allow it${said}`,
          );
        case 107:
          return make('password_policy', `${backend} refused the new password under its password policy${said}`);
        case 113:
          return make('unsupported', `${backend} does not let an admin change '${ctx.field ?? ''}'${said}`);
        default:
          return make('invalid_input', `${backend} refused to change '${userId}'${said}`);
      }
    }
    case 'disableUser':
    case 'enableUser':
      // 101 = missing user OR acting on yourself; the client checks both before calling, so this is the rest.
      return make(
        'unknown',
        `${backend} refused to ${ctx.op === 'disableUser' ? 'disable' : 'enable'} '${userId}'${said}`,
      );
    case 'deleteUser':
      return make('unknown', `${backend} could not delete '${userId}'${said}: check Nextcloud's log`);
    case 'addToGroup':
    case 'removeFromGroup': {
      const group = ctx.group ?? '';
      switch (code) {
        case 102:
          return make('not_found', `group '${group}' does not exist on ${backend}: create it in Nextcloud first`);
        case 103:
          return make('not_found', `user '${userId}' does not exist on ${backend}`);
        case 104:
          return make(
            'forbidden',
            `this admin account may not change membership of group '${group}' on ${backend}${said}`,
          );
        case 105:
          return make('invalid_input', `${backend} will not remove its own admin account from the admin group${said}`);
        default:
          return make('invalid_input', `${backend} refused to change '${userId}' in group '${group}'${said}`);
      }
    }
    case 'resendInvite':
      if (code === 101)
        return make(
          'invalid_input',
          `'${userId}' has no email address on ${backend}, so no invitation can be sent: set one first`,
        );
      if (code === 102) {
        return make(
          'unavailable',
          `${backend} could not send the invitation mail to '${userId}'${said}: check Nextcloud's mail server ` +
            `settings, then resend`,
          false,
        );
      }
      return make('unknown', `${backend} refused to resend the invitation to '${userId}'${said}`);
  }
}
