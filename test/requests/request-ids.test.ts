import { describe, expect, it } from 'vitest';
import { newRequestId } from '../../src/requests/request-ids.js';

describe('request ids', () => {
  it('are AD- and six characters without look-alikes', () => {
    const ids = new Set(Array.from({ length: 2000 }, newRequestId));
    for (const id of ids) expect(id).toMatch(/^AD-[2-9A-HJKMNP-Z]{6}$/);
    expect(ids.size).toBeGreaterThan(1990); // 31^6 ≈ 887 million: collisions are rare (and insert retries them)
  });
});
