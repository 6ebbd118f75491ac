import { describe, expect, it } from 'vitest';
import { parseCommand, tokenize, type ParsedCommand } from '../../src/slack/parse.js';

const CMD = '/account';
const parse = (text: string): ParsedCommand => parseCommand(text, CMD);

function draftOf(text: string) {
  const parsed = parse(text);
  if (parsed.kind !== 'request') throw new Error(`expected a request for "${text}", got ${JSON.stringify(parsed)}`);
  return parsed.draft;
}
function errorOf(text: string): string {
  const parsed = parse(text);
  if (parsed.kind !== 'error') throw new Error(`expected an error for "${text}", got ${JSON.stringify(parsed)}`);
  return parsed.message;
}

describe('subcommands', () => {
  it('opens the form for an empty command', () => {
    expect(parse('')).toEqual({ kind: 'modal' });
    expect(parse('   ')).toEqual({ kind: 'modal' });
  });

  it.each(['help', 'HELP', '?'])('"%s" is help', (text) => expect(parse(text)).toEqual({ kind: 'help' }));
  it.each(['pending', 'list'])('"%s" lists pending requests', (text) =>
    expect(parse(text)).toEqual({ kind: 'pending' }),
  );

  it('pending takes an optional page number', () => {
    expect(parse('pending 1')).toEqual({ kind: 'pending' });
    expect(parse('pending 2')).toEqual({ kind: 'pending', page: 2 });
    expect(parse('list 12')).toEqual({ kind: 'pending', page: 12 });
    expect(errorOf('pending next')).toBe(
      'Usage: `/account pending` or `/account pending <page>`, e.g. `/account pending 2`.',
    );
    expect(errorOf('pending 0')).toMatch(/^Usage: `\/account pending`/);
    expect(errorOf('pending 2 3')).toMatch(/^Usage: `\/account pending`/);
  });

  it('cancel and status take one request id, upper-cased', () => {
    expect(parse('cancel ad-7k2m9q')).toEqual({ kind: 'cancel', id: 'AD-7K2M9Q' });
    expect(parse('Status AD-7K2M9Q')).toEqual({ kind: 'status', id: 'AD-7K2M9Q' });
    expect(errorOf('cancel')).toBe('Usage: `/account cancel <request id>`, e.g. `/account cancel AD-7K2M9Q`.');
    expect(errorOf('status a b')).toMatch(/^Usage: `\/account status <request id>`/);
  });

  it('info takes a backend and a username', () => {
    expect(parse('info cloud alice')).toEqual({ kind: 'info', backend: 'cloud', username: 'alice' });
    expect(errorOf('info cloud')).toBe('Usage: `/account info <backend> <username>`.');
  });

  it('refuses an unknown verb, pointing at help with the configured command', () => {
    expect(parseCommand('frobnicate cloud alice', '/acct')).toEqual({
      kind: 'error',
      message: '"frobnicate" is not something AccountDesk does. Try `/acct help`.',
    });
  });

  it('create: backend, username, email, quota, groups and a reason', () => {
    expect(draftOf('create cloud alice alice@example.com 10GB staff,sales new hire in sales')).toEqual({
      action: 'create',
      backend: 'cloud',
      username: 'alice',
      email: 'alice@example.com',
      quota: '10GB',
      groups: ['staff', 'sales'],
      reason: 'new hire in sales',
    });
  });

  it('disable, enable and delete take the rest of the line as the reason', () => {
    expect(draftOf('disable cloud alice left the company')).toEqual({
      action: 'disable',
      backend: 'cloud',
      username: 'alice',
      reason: 'left the company',
    });
    expect(draftOf('enable nas bob')).toEqual({ action: 'enable', backend: 'nas', username: 'bob' });
    // A size after a non-size action is words, not a quota.
    expect(draftOf('delete cloud carol 50GB of junk')).toEqual({
      action: 'delete',
      backend: 'cloud',
      username: 'carol',
      reason: '50GB of junk',
    });
  });

  it('quota: the size, unlimited, or an error with the usage', () => {
    expect(draftOf('quota cloud alice 50GB')).toMatchObject({ action: 'quota', quota: '50GB' });
    expect(draftOf('quota cloud alice unlimited project X')).toMatchObject({ quota: 'unlimited', reason: 'project X' });
    expect(draftOf('quota cloud alice none')).toMatchObject({ quota: 'none' });
    expect(errorOf('quota cloud alice')).toBe(
      'Say the new size, e.g. 50GB or unlimited. Usage: `/account quota ' +
        '<backend> <username> <size|unlimited> [reason]`',
    );
  });

  it('joins "1.5 TB" typed as two tokens into one size', () => {
    expect(draftOf('quota cloud alice 1.5 TB more space')).toMatchObject({ quota: '1.5 TB', reason: 'more space' });
    expect(draftOf('create cloud alice a@example.com 500 MiB')).toMatchObject({ quota: '500 MiB' });
    expect(draftOf('quota cloud alice 1,5 TB')).toMatchObject({ quota: '1,5 TB' });
  });

  it('says which argument is missing, with the usage', () => {
    expect(errorOf('create')).toBe(
      'Say which backend. Usage: `/account create <backend> <username> [email] [quota] [group,group] [reason]`',
    );
    expect(errorOf('disable cloud')).toBe(
      'Say which username. Usage: `/account disable <backend> <username> [reason]`',
    );
  });
});

describe('group membership and reinvite', () => {
  it('join and leave take one group, then the reason', () => {
    expect(draftOf('join cloud alice staff new team')).toEqual({
      action: 'join',
      backend: 'cloud',
      username: 'alice',
      groups: ['staff'],
      reason: 'new team',
    });
    expect(draftOf('leave nas bob groups:sales')).toEqual({
      action: 'leave',
      backend: 'nas',
      username: 'bob',
      groups: ['sales'],
    });
    expect(draftOf('join cloud alice "Project X"')).toMatchObject({ groups: ['Project X'] });
    expect(errorOf('join cloud alice')).toBe(
      'Say which group. Usage: `/account join <backend> <username> <group> [reason]`',
    );
  });

  it('reinvite takes the rest of the line as the reason', () => {
    expect(draftOf('reinvite cloud alice lost the first mail')).toEqual({
      action: 'reinvite',
      backend: 'cloud',
      username: 'alice',
      reason: 'lost the first mail',
    });
  });
});

describe('keyed and quoted values', () => {
  it('groups:a,b and group:a', () => {
    expect(draftOf('create cloud alice groups:staff,sales')).toMatchObject({ groups: ['staff', 'sales'] });
    expect(draftOf('create cloud alice group:staff')).toMatchObject({ groups: ['staff'] });
  });

  it('name:"A B" keeps the space; "double quotes" keep a value in one token', () => {
    expect(draftOf('create cloud alice alice@example.com name:"Alice Smith" 10GB')).toMatchObject({
      displayName: 'Alice Smith',
      quota: '10GB',
      email: 'alice@example.com',
    });
    expect(draftOf('create cloud "alice smith" email:alice@example.com')).toMatchObject({
      username: 'alice smith',
      email: 'alice@example.com',
    });
  });

  it('reads Slack smart quotes as plain quotes', () => {
    expect(draftOf('create cloud alice name:“Alice Smith” quota:2GB')).toMatchObject({
      displayName: 'Alice Smith',
      quota: '2GB',
    });
    expect(draftOf('create cloud o’brien email:o@example.com')).toMatchObject({ username: "o'brien" });
  });

  it('reason: takes the rest of the line', () => {
    expect(draftOf('create cloud alice reason:new hire, starts 10GB monday')).toEqual({
      action: 'create',
      backend: 'cloud',
      username: 'alice',
      reason: 'new hire, starts 10GB monday',
    });
  });

  it('refuses an unclosed quote', () => {
    expect(errorOf('create cloud alice name:"Alice Smith')).toMatch(/quote is not closed/);
  });

  it('tokenize splits on any white space', () => {
    expect(tokenize('a \t b\n"c d"')).toEqual(['a', 'b', 'c d']);
  });
});

describe('Slack-escaped text (should_escape: true)', () => {
  it('turns &lt; &gt; &amp; back into the characters the person typed', () => {
    expect(draftOf('disable cloud alice R&amp;D moved &lt;elsewhere&gt;')).toMatchObject({
      reason: 'R&D moved <elsewhere>',
    });
    // The raw mention text stays text: the card escapes it again before Slack sees it.
    expect(draftOf('disable cloud alice &lt;!channel&gt; look')).toMatchObject({ reason: '<!channel> look' });
  });

  it('unescapes only once: &amp;lt; stays the literal text &lt;', () => {
    expect(draftOf('disable cloud alice a &amp;lt; b')).toMatchObject({ reason: 'a &lt; b' });
  });
});
