import { describe, expect, it } from 'vitest';
import { generateStrongPassword, newRequestId } from '../../src/requests/generate.js';

describe('what AccountDesk generates', () => {
  it('request ids are AD- and six characters without look-alikes', () => {
    const ids = new Set(Array.from({ length: 2000 }, newRequestId));
    for (const id of ids) expect(id).toMatch(/^AD-[2-9A-HJKMNP-Z]{6}$/);
    expect(ids.size).toBeGreaterThan(1990); // 31^6 ≈ 887 million: collisions are rare (and insert retries them)
  });

  it('passwords have 20 characters with every class DSM checks for, and differ each time', () => {
    const passwords = Array.from({ length: 500 }, generateStrongPassword);
    for (const password of passwords) {
      expect(password).toHaveLength(20);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[2-9]/);
      expect(password).toMatch(/[!#%+\-=?@_]/);
    }
    expect(new Set(passwords).size).toBe(passwords.length);
  });
});
