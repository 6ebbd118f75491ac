import { membershipAction } from './membership.js';

/** Removes a user from one group: `/account leave cloud alice staff`. */
export const leaveAction = membershipAction('leave');
