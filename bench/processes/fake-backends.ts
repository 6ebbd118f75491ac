/**
 * The fake Nextcloud, DSM and nmcuser_oidc of the end-to-end tests (test/fakes/), set up as test/e2e/harness.ts sets
 * them up, with the passwords the app is given (NEXTCLOUD_APP_PASSWORD, DSM_PASSWORD, NMC_PASSWORD in the
 * environment), in a process of their own: the app's previews read them over loopback without sharing its event
 * loop.
 *
 *   forked by bench/hot-path.ts: node --import tsx bench/processes/fake-backends.ts
 */
import { startFakeNextcloud } from '../../test/fakes/nextcloud.js';
import { startFakeNmcuserOidc } from '../../test/fakes/nmcuser-oidc.js';
import { startFakeDsm } from '../../test/fakes/synology.js';
import { answerParent } from './ipc.js';

const password = (name: string) => {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: the load generator passes the passwords it gives the app`);
  return value;
};

const nextcloud = await startFakeNextcloud({ adminUser: 'admin', adminPassword: password('NEXTCLOUD_APP_PASSWORD') });
const dsm = await startFakeDsm({
  account: 'accountdesk',
  password: password('DSM_PASSWORD'),
  joinPollsUntilFinished: 1,
});
const nmc = await startFakeNmcuserOidc({
  adminUser: 'admin',
  adminPassword: password('NMC_PASSWORD'),
  providers: [{ id: 1, identifier: 'keycloak' }],
});

answerParent({ cloud: nextcloud.url, nas: dsm.url, sso: nmc.url }, {}, async () => {
  await Promise.all([nextcloud.close(), dsm.close(), nmc.close()]);
});
