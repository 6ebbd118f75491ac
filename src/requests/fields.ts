/**
 * Field rules checked before a request is stored, so an approver never approves something the backend will
 * refuse for its shape. What is true of every backend lives here; each backend states its own rules
 * (BackendClient.usernameProblem, emailRequiredBecause).
 */
import type { BackendClient } from '../backends/types.js';

export type FieldCheck = { ok: true; value: string } | { ok: false; message: string };

// Control characters and the Unicode line/paragraph separators never belong in an account name.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f\u2028\u2029]/;

/** What no backend accepts, then the backend's own rules (BackendClient.usernameProblem). */
export function checkUsername(backend: Pick<BackendClient, 'usernameProblem'>, input: string): FieldCheck {
  const name = input.trim();
  if (name === '') return { ok: false, message: 'The username is empty.' };
  if (CONTROL.test(name)) return { ok: false, message: 'The username contains control characters.' };
  // "." and ".." are path segments, and a home folder is named after the user; a name of only dots is refused here
  // rather than on an approval card that cannot work.
  if (/^\.+$/.test(name)) return { ok: false, message: `"${name}" is not a username.` };
  const problem = backend.usernameProblem(name);
  return problem ? { ok: false, message: `The username "${name}" ${problem}.` } : { ok: true, value: name };
}

/**
 * A pragmatic address check (one @, a dot in the domain, no spaces): strict enough to catch typos before an
 * invitation mail goes nowhere, loose enough for every real address.
 */
export function checkEmail(input: string): FieldCheck {
  const email = input.trim();
  if (email.length > 254) return { ok: false, message: 'The email address is longer than 254 characters.' };
  if (!/^[^\s@<>()]+@[^\s@<>()]+\.[^\s@<>().]{2,}$/.test(email)) {
    return { ok: false, message: `"${email}" is not an email address (expected name@example.com).` };
  }
  return { ok: true, value: email };
}

export function checkDisplayName(input: string): FieldCheck {
  const name = input.trim();
  if (CONTROL.test(name)) return { ok: false, message: 'The display name contains control characters.' };
  if (name.length > 64) return { ok: false, message: 'The display name is longer than 64 characters.' };
  return { ok: true, value: name };
}

export function checkGroup(input: string): FieldCheck {
  const group = input.trim();
  if (group === '' || CONTROL.test(group)) return { ok: false, message: `"${input}" is not a group name.` };
  if (group.length > 64) return { ok: false, message: `The group "${group}" is longer than 64 characters.` };
  return { ok: true, value: group };
}

export function checkReason(input: string): FieldCheck {
  const reason = input.trim();
  // Stays well inside Slack's 3000-character section text once quoted on a card (docs/slack.md#limits).
  if (reason.length > 500) return { ok: false, message: 'The reason is longer than 500 characters; shorten it.' };
  return { ok: true, value: reason };
}
