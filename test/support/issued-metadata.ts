/**
 * The private_metadata the app would have put on a view it opened for `user`: what Slack sends back when that
 * person submits it. For tests that submit a form directly to check what happens next (a refusal, a fault), not
 * how the form was opened. The app signs with a key derived from its bot token (src/slack/view-seal.ts).
 */
import { ViewSeal } from '../../src/slack/view-seal.js';

export function issuedMetadata(botToken: string, callbackId: string, user: string, payload: string): string {
  return new ViewSeal(botToken).seal(callbackId, user, payload);
}
