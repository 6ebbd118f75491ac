/**
 * docs/config-reference.md is what the zod schemas generate (`npm run docs:config`): a key added, removed,
 * renamed or given another default without regenerating the file fails here, and so does a key nobody described.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { renderConfigReference } from '../../src/config/reference.js';

const committed = readFileSync(new URL('../../docs/config-reference.md', import.meta.url), 'utf8');

describe('docs/config-reference.md', () => {
  it('matches the schemas exactly (run npm run docs:config after changing one)', () => {
    expect(committed).toBe(renderConfigReference());
  });

  it('lists every key of the example config with its type, default and meaning', () => {
    for (const key of ['`slack.approvalsChannel`', '`policy.defaults.approvals`', '`backends.<name>.caFile`']) {
      expect(committed).toContain(key);
    }
    expect(committed).toContain('| `backends.<name>.volume` | text | `"/volume1"` | DSM volume');
    expect(committed).toContain('| `HEALTH_PORT` | whole number 0–65535 |  | Socket Mode: the port of /healthz');
    expect(committed).toMatch(/\| `slack.auditChannel` \| text \| \*\*required\*\* \|/);
  });
});
