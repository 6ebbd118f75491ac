import { describe, expect, it } from 'vitest';
import { generateDsmPassword } from '../../src/backends/synology/password.js';
import { createSynologyClient } from '../../src/backends/synology/client.js';
import { synologyConfigSchema } from '../../src/backends/synology/config.js';

describe('DSM first passwords', () => {
  it('passwords have 20 characters with every class DSM checks for, and differ each time', () => {
    const passwords = Array.from({ length: 500 }, generateDsmPassword);
    for (const password of passwords) {
      expect(password).toHaveLength(20);
      expect(password).toMatch(/[A-Z]/);
      expect(password).toMatch(/[a-z]/);
      expect(password).toMatch(/[2-9]/);
      expect(password).toMatch(/[!#%+\-=?@_]/);
    }
    expect(new Set(passwords).size).toBe(passwords.length);
  });

  it('the DSM client offers them, so the password policy stays with the backend', async () => {
    const config = synologyConfigSchema.parse({
      kind: 'synology',
      url: 'https://nas.example:5001',
      user: 'accountdesk',
      secretEnv: 'DSM_PASSWORD',
    });
    const client = createSynologyClient('nas', config, 'bot-password');
    expect(client.passwordHandling).toBe('show-to-requester');
    expect(client.generatePassword?.()).toMatch(/^.{20}$/);
    await client.close();
  });
});
