import { describe, expect, it } from 'vitest';
import { nextcloudUsernameProblem } from '../../src/backends/nextcloud/usernames.js';
import { oidcSubjectProblem } from '../../src/backends/nextcloud-oidc/usernames.js';
import { dsmUsernameProblem } from '../../src/backends/synology/usernames.js';
import { checkDisplayName, checkEmail, checkGroup, checkReason, checkUsername } from '../../src/requests/fields.js';

/** The rules each backend states (BackendClient.usernameProblem), as the domain sees them. */
const nextcloud = { usernameProblem: nextcloudUsernameProblem };
const synology = { usernameProblem: dsmUsernameProblem };
const oidc = { usernameProblem: oidcSubjectProblem };
const BACKENDS = { nextcloud, synology, nmcuser_oidc: oidc, user_oidc: oidc };

function accepted(check: { ok: true; value: string } | { ok: false; message: string }): string {
  if (!check.ok) throw new Error(`expected acceptance, got: ${check.message}`);
  return check.value;
}
function refused(check: { ok: true; value: string } | { ok: false; message: string }): string {
  if (check.ok) throw new Error(`expected a refusal, got "${check.value}"`);
  return check.message;
}

describe('usernames on Nextcloud', () => {
  it.each(['alice', 'alice.smith', 'a_b-c', "o'brien", 'alice@example.com', 'Alice Smith', 'x'.repeat(64)])(
    'accepts %s',
    (name) => {
      expect(accepted(checkUsername(nextcloud, name))).toBe(name);
    },
  );

  it('trims surrounding spaces', () => {
    expect(accepted(checkUsername(nextcloud, '  alice  '))).toBe('alice');
  });

  it.each(['bad/name', 'bad\\name', 'ünïcode', 'a+b', 'semi;colon', 'a<b>'])(
    'refuses %s, naming the allowed characters',
    (name) => {
      expect(refused(checkUsername(nextcloud, name))).toMatch(
        /may only contain letters, digits, spaces and _ \. @ - ' on Nextcloud/,
      );
    },
  );

  it('refuses 65 characters, naming the limit of 64', () => {
    expect(refused(checkUsername(nextcloud, 'x'.repeat(65)))).toMatch(
      /longer than 64 characters \(Nextcloud allows 64\)/,
    );
  });

  it('refuses empty, . and ..', () => {
    expect(refused(checkUsername(nextcloud, '   '))).toMatch(/empty/);
    expect(refused(checkUsername(nextcloud, '.'))).toMatch(/is not a username/);
    expect(refused(checkUsername(nextcloud, '..'))).toMatch(/is not a username/);
  });
});

describe('usernames on Synology DSM', () => {
  it.each(['root', 'admin', 'Administrator', 'GUEST', 'users'])('refuses the reserved name %s', (name) => {
    expect(refused(checkUsername(synology, name))).toMatch(/DSM reserves/);
  });

  it('accepts 64 characters and refuses 65', () => {
    expect(accepted(checkUsername(synology, 'n'.repeat(64)))).toHaveLength(64);
    expect(refused(checkUsername(synology, 'n'.repeat(65)))).toMatch(/DSM allows 64/);
  });

  it.each(['a/b', 'a\\b', 'a:b', 'a*b', 'a?b', 'a"b', 'a<b', 'a|b'])('refuses %s', (name) => {
    expect(refused(checkUsername(synology, name))).toMatch(/may not contain/);
  });

  it('accepts an ordinary name with a dot and a dash', () => {
    expect(accepted(checkUsername(synology, 'alice.smith-2'))).toBe('alice.smith-2');
  });
});

describe('usernames on OpenID Connect backends', () => {
  it.each(['nmcuser_oidc', 'user_oidc'] as const)('%s takes a subject of up to 255 characters as it comes', (kind) => {
    expect(accepted(checkUsername(BACKENDS[kind], 's'.repeat(255)))).toHaveLength(255);
    expect(accepted(checkUsername(BACKENDS[kind], '1234-abcd|sub@idp'))).toBe('1234-abcd|sub@idp');
    expect(refused(checkUsername(BACKENDS[kind], 's'.repeat(256)))).toMatch(/longer than 255/);
  });
});

describe('control characters', () => {
  it.each(['nextcloud', 'synology', 'nmcuser_oidc', 'user_oidc'] as const)('are refused in %s usernames', (kind) => {
    for (const bad of ['ali\u0000ce', 'ali\nce', 'ali\tce', 'ali\u007fce', 'ali\u2028ce']) {
      expect(refused(checkUsername(BACKENDS[kind], bad))).toMatch(/control characters/);
    }
  });

  it('are refused in display names and groups', () => {
    expect(refused(checkDisplayName('Alice\nSmith'))).toMatch(/control characters/);
    expect(refused(checkGroup('staff\u0007'))).toMatch(/not a group name/);
  });
});

describe('emails', () => {
  it.each(['alice@example.com', 'alice.smith+tag@mail.example.co.uk', '  bob@example.org '])('accepts %s', (email) => {
    expect(accepted(checkEmail(email))).toBe(email.trim());
  });

  it.each([
    'alice',
    'alice@example',
    'alice@@example.com',
    'a b@example.com',
    '<alice@example.com>',
    'alice@example.c',
    '@example.com',
    'alice@',
  ])('refuses %s with an example of the expected shape', (email) => {
    expect(refused(checkEmail(email))).toMatch(/name@example\.com/);
  });

  it('refuses an address over 254 characters', () => {
    expect(refused(checkEmail(`${'a'.repeat(250)}@example.com`))).toMatch(/longer than 254/);
  });
});

describe('display names, groups and reasons', () => {
  it('limit display names to 64 characters', () => {
    expect(accepted(checkDisplayName('A'.repeat(64)))).toHaveLength(64);
    expect(refused(checkDisplayName('A'.repeat(65)))).toMatch(/longer than 64/);
  });

  it('limit groups to 64 characters and refuse an empty one', () => {
    expect(accepted(checkGroup(' staff '))).toBe('staff');
    expect(refused(checkGroup('g'.repeat(65)))).toMatch(/longer than 64/);
    expect(refused(checkGroup('  '))).toMatch(/not a group name/);
  });

  it('limit reasons to 500 characters (they are quoted on a 3000-character card section)', () => {
    expect(accepted(checkReason('r'.repeat(500)))).toHaveLength(500);
    expect(refused(checkReason('r'.repeat(501)))).toMatch(/longer than 500.*shorten/);
    expect(accepted(checkReason(''))).toBe('');
  });
});
