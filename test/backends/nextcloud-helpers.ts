/** Builds a Nextcloud client wired to a fake, with an injected sleep so retries never wait. */
import { HttpClient } from '../../src/backends/http.js';
import { httpOptionsFor } from '../../src/backends/config.js';
import { createNextcloudClient } from '../../src/backends/nextcloud/client.js';
import type { NextcloudClient } from '../../src/backends/nextcloud/client.js';
import { nextcloudConfigSchema } from '../../src/backends/nextcloud/config.js';
import { startFakeNextcloud } from '../fakes/nextcloud.js';
import type { FakeNextcloud, FakeNextcloudOptions } from '../fakes/nextcloud.js';

export interface Harness {
  fake: FakeNextcloud;
  client: NextcloudClient;
  /** Every wait the HTTP layer asked for, in ms. */
  sleeps: number[];
  /** A second client on the same fake, with other credentials. */
  clientWith: (secret: string, user?: string) => NextcloudClient;
  close(): Promise<void>;
}

export async function startHarness(
  apiVersion: 'v1' | 'v2',
  fakeOptions: FakeNextcloudOptions = {},
  configExtra: Record<string, unknown> = {},
): Promise<Harness> {
  const fake = await startFakeNextcloud(fakeOptions);
  const sleeps: number[] = [];
  const clients: NextcloudClient[] = [];
  const build = (secret: string, user = fake.adminUser) => {
    const config = nextcloudConfigSchema.parse({
      kind: 'nextcloud',
      url: fake.url,
      user,
      secretEnv: 'NEXTCLOUD_APP_PASSWORD',
      apiVersion,
      ...configExtra,
    });
    // Short header timeout: the fake's "hang" faults must end the call quickly; nothing asserts on durations.
    const http = new HttpClient({ ...httpOptionsFor('cloud', config), headersTimeoutMs: 200 }, (ms) => {
      sleeps.push(ms);
      return Promise.resolve();
    });
    const client = createNextcloudClient('cloud', config, secret, http);
    clients.push(client);
    return client;
  };
  const client = build(fake.adminPassword);
  return {
    fake,
    client,
    sleeps,
    clientWith: build,
    async close() {
      await Promise.all(clients.map((c) => c.close()));
      await fake.close();
    },
  };
}

/** Requests the fake saw for one route. */
export function callsTo(fake: FakeNextcloud, route: string): number {
  return fake.requests.filter((r) => r.route === route).length;
}
