/**
 * The fake Slack of the end-to-end tests (test/support/slack-fake.ts) in a process of its own, so that what the app
 * sends to Slack is received, timed and counted without sharing the app's or the load generator's event loop.
 *
 * It hands out response_urls and records, per response_url, when the first post to it arrived (node's
 * http.server.request.start diagnostics channel fires as the request line is read, before the body); it counts
 * the cards in the approvals channel after every chat.postMessage and remembers when the count last grew.
 *
 *   forked by bench/hot-path.ts: node --import tsx bench/processes/fake-slack.ts <approvals channel> <usergroup>
 *   <its member> (the approvers group of config/local-fakes.yaml)
 */
import { subscribe } from 'node:diagnostics_channel';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { startFakeSlack } from '../../test/support/slack-fake.js';
import { answerParent } from './ipc.js';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes of one machine. */
const now = () => performance.timeOrigin + performance.now();

const [approvals = '', usergroup = '', member = ''] = process.argv.slice(2);
const slack = await startFakeSlack({ usergroups: { [usergroup]: [member] } });

/** response_url path -> when the first post to it arrived. */
const firstPostAt = new Map<string, number>();
let cards = 0;
let lastCardAt: number | undefined;

subscribe('http.server.request.start', (message) => {
  const { request } = message as { request: IncomingMessage };
  const path = request.url ?? '';
  if (path.startsWith('/response/') && !firstPostAt.has(path)) firstPostAt.set(path, now());
});
subscribe('http.server.response.finish', (message) => {
  const { request } = message as { request: IncomingMessage; response: ServerResponse };
  if (request.url !== '/api/chat.postMessage') return;
  const count = slack.messagesIn(approvals).length;
  if (count > cards) {
    cards = count;
    lastCardAt = now();
  }
});

answerParent(
  { apiUrl: slack.apiUrl, token: slack.token },
  {
    /** Fresh response_urls, one per slash command the load generator will send. */
    responseUrls: ({ userIds, channelId }: { userIds: string[]; channelId: string }) =>
      userIds.map((userId) => slack.newResponseUrl({ userId, channelId })),
    /** When the first post reached each response_url (null: none yet). */
    firstPosts: ({ urls }: { urls: string[] }) => urls.map((url) => firstPostAt.get(new URL(url).pathname) ?? null),
    cards: () => ({ cards, lastCardAt: lastCardAt ?? null }),
  },
  () => slack.close(),
);
