/**
 * Parses the text after the slash command into what the person asked for. Pure; every error names the exact
 * problem and the usage, so the person can fix the line and send it again.
 */
import { ACTION_KINDS, type Draft } from '../requests/actions/index.js';
import type { OffboardDraft, OnboardDraft, RequestDraft } from '../requests/plans.js';
import { REQUEST_ACTIONS, type ActionName } from '../requests/types.js';
import { ECHO_MAX, truncate, unescapeSlack } from './text.js';

export type ParsedCommand =
  | { kind: 'help' }
  | { kind: 'modal' }
  | { kind: 'batch' }
  | { kind: 'request'; draft: RequestDraft }
  | { kind: 'cancel'; id: string }
  | { kind: 'status'; id: string }
  | { kind: 'pending'; page?: number }
  | { kind: 'scheduled' }
  | { kind: 'info'; backend: string; username: string }
  | { kind: 'doctor' }
  | { kind: 'error'; message: string };

/** Splits on white space; "double quotes" (also Slack's “smart quotes”) keep spaces inside one value. */
export function tokenize(text: string): string[] | { error: string } {
  const tokens: string[] = [];
  const normalised = text.replace(/[“”„]/g, '"').replace(/[‘’]/g, "'");
  const pattern = /"([^"]*)"|(\S*"[^"]*"\S*)|(\S+)/g;
  let match: RegExpExecArray | null;
  while ((match = pattern.exec(normalised)) !== null) {
    const token = match[1] ?? match[2]?.replace(/"/g, '') ?? match[3]!;
    if (match[3]?.includes('"'))
      return { error: 'A quote is not closed. Put "double quotes" around values with spaces.' };
    tokens.push(token);
  }
  return tokens;
}

/**
 * Request ids are "AD-" and six characters (src/requests/ids.ts). Anything much longer cannot be one, and must not
 * reach the store, which refuses keys over 512 characters with an error.
 */
const MAX_REQUEST_ID_LENGTH = 64;

/** Whether `id` could name a request at all (a click's value, a typed id): short enough to look up. */
export function mayBeRequestId(id: string): boolean {
  return id.length > 0 && id.length <= MAX_REQUEST_ID_LENGTH;
}

/** The same words as the domain's refusal for an unknown id. */
export function noSuchRequest(id: string): string {
  return `There is no request ${truncate(id, ECHO_MAX)}. Check the id in your receipt.`;
}

const SIZE_NUMBER = /^[+-]?\d+(?:[.,]\d+)?$/;
const SIZE_UNIT = /^[kmgtp]?i?b$|^[kmgtp]$/i;
const SIZE = /^[+-]?\d+(?:[.,]\d+)?\s*[a-z]*$/i;
const UNLIMITED = /^(unlimited|none)$/i;
const KEYED = /^(email|name|display|displayname|quota|groups?|reason|until|for):(.*)$/i;

export function parseCommand(rawText: string, command: string): ParsedCommand {
  const tokenized = tokenize(unescapeSlack(rawText).trim());
  if ('error' in tokenized) return { kind: 'error', message: tokenized.error };
  const [verbToken, ...args] = tokenized;
  if (verbToken === undefined) return { kind: 'modal' };
  const verb = verbToken.toLowerCase();

  if (verb === 'help' || verb === '?') return { kind: 'help' };
  if (verb === 'pending' || verb === 'list') {
    if (args.length === 0) return { kind: 'pending' };
    const page = args.length === 1 && /^[1-9]\d{0,3}$/.test(args[0]!) ? Number(args[0]) : undefined;
    if (page === undefined)
      return {
        kind: 'error',
        message: `Usage: \`${command} ${verb}\` or \`${command} ${verb} <page>\`, e.g. \`${command} ${verb} 2\`.`,
      };
    return page === 1 ? { kind: 'pending' } : { kind: 'pending', page };
  }
  if (verb === 'scheduled' && args.length === 0) return { kind: 'scheduled' };
  if (verb === 'doctor' && args.length === 0) return { kind: 'doctor' };
  if (verb === 'batch') {
    if (args.length > 0) return { kind: 'error', message: `Usage: \`${command} batch\` opens the batch form.` };
    return { kind: 'batch' };
  }
  if (verb === 'cancel' || verb === 'status') {
    if (args.length !== 1)
      return {
        kind: 'error',
        message: `Usage: \`${command} ${verb} <request id>\`, e.g. \`${command} ${verb} AD-7K2M9Q\`.`,
      };
    const id = args[0]!.toUpperCase();
    if (!mayBeRequestId(id)) return { kind: 'error', message: noSuchRequest(id) };
    return { kind: verb, id };
  }
  if (verb === 'info') {
    if (args.length !== 2) return { kind: 'error', message: `Usage: \`${command} info <backend> <username>\`.` };
    return { kind: 'info', backend: args[0]!, username: args[1]! };
  }
  if (verb === 'onboard') return parseOnboard(args, command);
  if (verb === 'offboard') return parseOffboard(args, command);
  if (!(REQUEST_ACTIONS as readonly string[]).includes(verb)) {
    return {
      kind: 'error',
      message: `"${truncate(verbToken, ECHO_MAX)}" is not something AccountDesk does. Try \`${command} help\`.`,
    };
  }
  const action = verb as ActionName;
  const usage = `Usage: \`${command} ${ACTION_KINDS[action].usage}\``;
  const [backend, username, ...rest] = args;
  if (backend === undefined) return { kind: 'error', message: `Say which backend. ${usage}` };
  if (username === undefined) return { kind: 'error', message: `Say which username. ${usage}` };
  const draft: Draft = { action, backend, username };
  if (action === 'join' || action === 'leave') {
    const [group, ...reason] = rest;
    if (group === undefined) return { kind: 'error', message: `Say which group. ${usage}` };
    draft.groups = [group.replace(/^groups?:/i, '')];
    if (reason.length > 0) draft.reason = reason.join(' ');
    return { kind: 'request', draft };
  }

  const reasonWords: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (reasonWords.length > 0) {
      reasonWords.push(token);
      continue;
    }
    const keyed = KEYED.exec(token);
    if (keyed) {
      const key = keyed[1]!.toLowerCase();
      const value = keyed[2]!;
      if (key === 'email') draft.email = value;
      else if (key === 'name' || key === 'display' || key === 'displayname') draft.displayName = value;
      else if (key === 'quota') draft.quota = value;
      else if (key === 'group' || key === 'groups') draft.groups = splitList(value);
      else if (key === 'until') draft.until = value;
      else if (key === 'for') draft.duration = value;
      else reasonWords.push(value); // reason: takes the rest of the line (the loop appends it)
      continue;
    }
    const wantsSize = (action === 'create' || action === 'quota') && draft.quota === undefined;
    if (wantsSize && SIZE_NUMBER.test(token) && rest[i + 1] !== undefined && SIZE_UNIT.test(rest[i + 1]!)) {
      draft.quota = `${token} ${rest[i + 1]}`;
      i++;
      continue;
    }
    if (wantsSize && (SIZE.test(token) || UNLIMITED.test(token))) {
      draft.quota = token;
      continue;
    }
    if (action === 'create' && draft.email === undefined && token.includes('@')) {
      draft.email = token;
      continue;
    }
    // A bare list needs items on both sides of a comma ("staff,sales"): "marketing," opens a reason, not a group.
    if (action === 'create' && draft.groups === undefined && /^[^,\s]+(,[^,\s]+)+$/.test(token)) {
      draft.groups = splitList(token);
      continue;
    }
    reasonWords.push(token);
  }
  if (action === 'quota' && draft.quota === undefined)
    return { kind: 'error', message: `Say the new size, e.g. 50GB or unlimited. ${usage}` };
  if (reasonWords.length > 0) draft.reason = reasonWords.join(' ');
  return { kind: 'request', draft };
}

export const ONBOARD_USAGE =
  'onboard <username> <email> profile:<name> [name:"Display Name"] [until:YYYY-MM-DD|for:90d] [reason]';
export const OFFBOARD_USAGE = 'offboard <username> [delete] [reason]';

/** `/account onboard alice alice@example.com profile:staff New designer`. */
function parseOnboard(args: string[], command: string): ParsedCommand {
  const usage = `Usage: \`${command} ${ONBOARD_USAGE}\``;
  const [username, ...rest] = args;
  if (username === undefined) return { kind: 'error', message: `Say which username. ${usage}` };
  const draft: Partial<OnboardDraft> = { action: 'onboard', username };
  const reasonWords: string[] = [];
  for (const token of rest) {
    const keyed =
      reasonWords.length === 0 ? /^(email|name|displayname|profile|reason|until|for):(.*)$/i.exec(token) : null;
    const key = keyed?.[1]?.toLowerCase();
    if (key === 'email') draft.email = keyed![2];
    else if (key === 'until') draft.until = keyed![2];
    else if (key === 'for') draft.duration = keyed![2];
    else if (key === 'name' || key === 'displayname') draft.displayName = keyed![2];
    else if (key === 'profile') draft.profile = keyed![2];
    else if (key === 'reason') reasonWords.push(keyed![2]!);
    else if (reasonWords.length === 0 && draft.email === undefined && token.includes('@')) draft.email = token;
    else reasonWords.push(token);
  }
  if (!draft.profile) return { kind: 'error', message: `Say which profile, e.g. profile:staff. ${usage}` };
  if (reasonWords.length > 0) draft.reason = reasonWords.join(' ');
  return { kind: 'request', draft: draft as OnboardDraft };
}

/** `/account offboard alice left the company`, or `/account offboard alice delete ...`. */
function parseOffboard(args: string[], command: string): ParsedCommand {
  const [username, ...rest] = args;
  if (username === undefined) {
    return { kind: 'error', message: `Say which username. Usage: \`${command} ${OFFBOARD_USAGE}\`` };
  }
  const draft: OffboardDraft = { action: 'offboard', username };
  if (rest[0]?.toLowerCase() === 'delete') {
    draft.delete = true;
    rest.shift();
  }
  if (rest.length > 0) draft.reason = rest.join(' ').replace(/^reason:/i, '');
  return { kind: 'request', draft };
}

function splitList(value: string): string[] {
  return value
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}
