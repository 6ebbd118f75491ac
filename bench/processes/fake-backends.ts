/**
 * The fake Nextcloud, DSM and nmcuser_oidc of the end-to-end tests (test/fakes/), with the credentials
 * test/e2e/harness.ts gives them, in a process of their own: the app's previews read them over loopback without
 * sharing its event loop.
 *
 *   forked by bench/hot-path.ts: node --import tsx bench/processes/fake-backends.ts
 */
import { SECRETS } from '../../test/e2e/harness.js';
import { startFakeNextcloud } from '../../test/fakes/nextcloud.js';
import { startFakeNmcuserOidc } from '../../test/fakes/nmcuser-oidc.js';
import { startFakeDsm } from '../../test/fakes/synology.js';
import { answerParent } from './ipc.js';

const nextcloud = await startFakeNextcloud({ adminUser: 'admin', adminPassword: SECRETS.NEXTCLOUD_APP_PASSWORD });
const dsm = await startFakeDsm({ account: 'accountdesk', password: SECRETS.DSM_PASSWORD, joinPollsUntilFinished: 1 });
const nmc = await startFakeNmcuserOidc({
  adminUser: 'admin',
  adminPassword: SECRETS.NMC_PASSWORD,
  providers: [{ id: 1, identifier: 'keycloak' }],
});

answerParent({ cloud: nextcloud.url, nas: dsm.url, sso: nmc.url }, {}, async () => {
  await Promise.all([nextcloud.close(), dsm.close(), nmc.close()]);
});
