import { describe, expect, it } from 'vitest';
import { esc, mention, truncate, unescapeSlack, when } from '../../src/slack/text.js';

describe('esc', () => {
  it.each([
    ['<!channel>', '&lt;!channel&gt;'],
    ['<!here>', '&lt;!here&gt;'],
    ['<@U123>', '&lt;@U123&gt;'],
    ['<!subteam^S1>', '&lt;!subteam^S1&gt;'],
    ['<https://evil.example|click me>', '&lt;https://evil.example|click me&gt;'],
    ['R&D', 'R&amp;D'],
    ['already &lt; escaped', 'already &amp;lt; escaped'],
  ])('disarms %s', (raw, escaped) => {
    expect(esc(raw)).toBe(escaped);
    expect(unescapeSlack(esc(raw))).toBe(raw);
  });

  it('leaves ordinary text alone', () => {
    expect(esc('alice@example.com *bold* _it_ "q"')).toBe('alice@example.com *bold* _it_ "q"');
  });
});

describe('mention', () => {
  it('mentions a Slack user id and escapes anything else', () => {
    expect(mention('U0ADMIN01')).toBe('<@U0ADMIN01>');
    expect(mention('W0ENTERPRISE')).toBe('<@W0ENTERPRISE>');
    expect(mention('<!channel>')).toBe('&lt;!channel&gt;');
    expect(mention('system')).toBe('system');
  });
});

describe('when', () => {
  it('renders a Slack date token with the ISO text as fallback', () => {
    expect(when('2030-03-01T09:00:00.000Z')).toBe(
      '<!date^1898586000^{date_short_pretty} {time}|2030-03-01T09:00:00.000Z>',
    );
  });
  it('escapes a value that is not a date', () => {
    expect(when('<!here>')).toBe('&lt;!here&gt;');
  });
});

describe('truncate', () => {
  it('returns short text unchanged', () => {
    expect(truncate('hello', 5)).toBe('hello');
  });

  it('marks a cut with an ellipsis and stays within the limit', () => {
    expect(truncate('hello world', 8)).toBe('hello w…');
  });

  const escaped = esc('a<b>&c <!channel> 😀😀 d&e 𝔘𝔫𝔦 <@U1>'.repeat(3));

  it('never cuts an entity or a surrogate pair, at every possible limit', () => {
    for (let max = 1; max <= escaped.length; max++) checkCut(max);
  });

  function checkCut(max: number): void {
    const out = truncate(escaped, max);
    expect(out.length).toBeLessThanOrEqual(max);
    const body = out.endsWith('…') ? out.slice(0, -1) : out;
    expect(escaped.startsWith(body)).toBe(true);
    // No half entity: every & starts a whole &amp; &lt; or &gt;.
    expect(body.replace(/&(amp|lt|gt);/g, '')).not.toContain('&');
    // No lone high surrogate at the end (a cut emoji shows as a replacement character).
    expect(body).not.toMatch(/[\uD800-\uDBFF]$/);
    expect(() => encodeURIComponent(body), `cut at ${max}`).not.toThrow();
  }
});
