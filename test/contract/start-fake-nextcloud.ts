/**
 * Starts the fakes by hand so the contract suites can be pointed at them, to check that fakes and real servers
 * agree: a fake Nextcloud with user_oidc's routes (provider 1 "keycloak", unique uids) and a fake nmcuser_oidc.
 *
 *   npx tsx test/contract/start-fake-nextcloud.ts          # prints the env lines, runs until Ctrl-C
 *   <those lines> npm run test:contract
 */
import { startFakeNextcloud } from '../fakes/nextcloud.js';
import { startFakeNmcuserOidc } from '../fakes/nmcuser-oidc.js';
import { mountFakeUserOidc } from '../fakes/user-oidc.js';

const nextcloud = await startFakeNextcloud();
mountFakeUserOidc(nextcloud, [{ id: 1, identifier: 'keycloak' }]);
const nmcuser = await startFakeNmcuserOidc({ providers: [{ id: 1, identifier: 'keycloak' }] });
console.log(`NEXTCLOUD_TEST_URL=${nextcloud.url}`);
console.log(`NEXTCLOUD_TEST_USER=${nextcloud.adminUser}`);
console.log(`NEXTCLOUD_TEST_PASSWORD=${nextcloud.adminPassword}`);
console.log(`USER_OIDC_TEST_URL=${nextcloud.url}`);
console.log(`USER_OIDC_TEST_USER=${nextcloud.adminUser}`);
console.log(`USER_OIDC_TEST_PASSWORD=${nextcloud.adminPassword}`);
console.log('USER_OIDC_TEST_PROVIDER_ID=1');
console.log('USER_OIDC_TEST_PROVIDER_IDENTIFIER=keycloak');
console.log(`NMCUSER_OIDC_TEST_URL=${nmcuser.url}`);
console.log(`NMCUSER_OIDC_TEST_USER=${nmcuser.adminUser}`);
console.log(`NMCUSER_OIDC_TEST_PASSWORD=${nmcuser.adminPassword}`);
console.log('NMCUSER_OIDC_TEST_PROVIDER=keycloak');
const stop = () => void Promise.all([nextcloud.close(), nmcuser.close()]).then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
