import { membershipAction } from './membership.js';

/** Adds a user to one group: `/account join cloud alice staff`. */
export const joinAction = membershipAction('join');
