/**
 * Starts the fake Nextcloud by hand so the contract suite can be pointed at it:
 *
 *   npx tsx test/contract/start-fake-nextcloud.ts          # prints the env lines, runs until Ctrl-C
 *   NEXTCLOUD_TEST_URL=... NEXTCLOUD_TEST_USER=... NEXTCLOUD_TEST_PASSWORD=... npm run test:contract
 */
import { startFakeNextcloud } from '../fakes/nextcloud.js';

const fake = await startFakeNextcloud();
console.log(`NEXTCLOUD_TEST_URL=${fake.url}`);
console.log(`NEXTCLOUD_TEST_USER=${fake.adminUser}`);
console.log(`NEXTCLOUD_TEST_PASSWORD=${fake.adminPassword}`);
const stop = () => void fake.close().then(() => process.exit(0));
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
