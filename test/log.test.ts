import { describe, expect, it } from 'vitest';
import { createLogger } from '../src/log.js';

const CONFIGURED = [
  'xoxb-1111-2222-LOGSECRET',
  'nc-app-pw-"quoted"\\slash-LOGSECRET',
  'dsm pw with spaces&=?LOGSECRET',
];
// Values under secret-looking keys that are NOT configured (a generated password, a DSM sid): redacted by key.
const BY_KEY = [
  'tok-BYKEY-1',
  'pw-BYKEY-2',
  'Bearer BYKEY-3',
  'Basic BYKEY-4',
  'sid-BYKEY-5',
  'synotoken-BYKEY-6',
  'cookie-BYKEY-7',
  'otp-BYKEY-8',
];

function capture(secrets: readonly string[] = CONFIGURED) {
  const lines: string[] = [];
  const logger = createLogger({
    level: 'trace',
    secrets,
    destination: { write: (line: string) => void lines.push(line) },
  });
  return { logger, lines, text: () => lines.join('') };
}

function expectClean(text: string, values: readonly string[]): void {
  for (const value of values) {
    expect(text, `"${value}" leaked`).not.toContain(value);
    expect(text).not.toContain(JSON.stringify(value).slice(1, -1));
  }
}

describe('createLogger', () => {
  it('writes JSON lines with a readable level', () => {
    const { logger, lines } = capture();
    logger.info({ request: 'AD-7K2M9Q' }, 'applied');
    expect(lines).toHaveLength(1);
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 'info', msg: 'applied', request: 'AD-7K2M9Q' });
  });

  it('redacts token, password, authorization and session keys, at the top and one level down', () => {
    const { logger, text } = capture();
    logger.info(
      { token: BY_KEY[0], password: BY_KEY[1], authorization: BY_KEY[2], sid: BY_KEY[4], SynoToken: BY_KEY[5] },
      'top level',
    );
    logger.warn(
      {
        input: { password: BY_KEY[1], username: 'alice' },
        headers: { authorization: BY_KEY[3], cookie: BY_KEY[6] },
        dsm: { otp_code: BY_KEY[7], _sid: BY_KEY[4] },
      },
      'nested',
    );
    logger.error({ req: { headers: { authorization: BY_KEY[2] } } }, 'request headers');
    expectClean(text(), BY_KEY);
    expect(text()).toContain('[redacted]');
    expect(text()).toContain('alice'); // only the secrets go
  });

  it('redacts secret keys at any depth', () => {
    const { logger, text } = capture();
    logger.info({ call: { options: { body: { password: BY_KEY[1] } } } }, 'deep');
    logger.info({ a: { b: { c: { headers: { authorization: BY_KEY[2] } } } } }, 'deeper');
    logger.info({ list: [{ token: BY_KEY[0] }] }, 'in an array');
    logger
      .child({ session: { sid: BY_KEY[4] } })
      .info({ Cookie: BY_KEY[6], dsm: { call: { 'X-Syno-Token': BY_KEY[5] } } }, 'child bindings, odd case');
    expectClean(text(), BY_KEY);
    // Errors still serialize with their message and stack.
    const { logger: plain, lines } = capture();
    plain.error({ err: new Error('disk full') }, 'failed');
    const { err } = JSON.parse(lines[0]!) as { err: { type: string; message: string; stack: string } };
    expect(err).toMatchObject({ type: 'Error', message: 'disk full' });
    expect(err.stack).toContain('Error: disk full');
  });

  it('scrubs a configured secret from the message, error texts, child bindings and odd keys', () => {
    const { logger, text } = capture();
    const [bot, nc, dsm] = CONFIGURED as [string, string, string];
    logger.info(`calling Slack with ${bot}`);
    logger.error({ err: new Error(`login refused for password ${nc}`) }, 'backend failed');
    logger
      .child({ backend: 'nas', note: dsm })
      .warn({ url: `https://nas.lan:5001/webapi/entry.cgi?passwd=${encodeURIComponent(dsm)}` }, 'login');
    logger.info({ env: { NEXTCLOUD_APP_PASSWORD: nc }, whatever: [bot] }, 'config');
    expectClean(text(), CONFIGURED);
    expect(text()).not.toContain(encodeURIComponent(dsm));
    expect(text()).toContain('login refused for password [redacted]');
  });

  it('ignores configured secrets shorter than 4 characters instead of shredding every line', () => {
    const { logger, text } = capture(['a', 'in']);
    logger.info('a line in the log');
    expect(text()).toContain('a line in the log');
  });
});
