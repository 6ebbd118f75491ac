/**
 * Reports every failed Slack Web API call of a WebClient (method and error code) to `onError`, for the metrics.
 * Every named method of @slack/web-api (chat.postMessage, views.open, ...) goes through WebClient.apiCall, so
 * wrapping that one method sees them all; the call's result or error is passed on unchanged.
 */
import type { webApi } from '@slack/bolt';
import { slackErrorCode } from './surface.js';

export function observeSlackApiErrors(client: webApi.WebClient, onError: (method: string, code: string) => void): void {
  const apiCall = client.apiCall.bind(client);
  client.apiCall = async (method, options) => {
    try {
      return await apiCall(method, options);
    } catch (err) {
      onError(method, slackErrorCode(err) ?? 'unknown');
      throw err;
    }
  };
}
