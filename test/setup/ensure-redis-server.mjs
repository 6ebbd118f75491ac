// `npm test` runs this first: the store suites need a real redis-server (test/setup/redis.ts starts a private one
// on 127.0.0.1). On a fresh Debian/Ubuntu machine as root it installs the package; elsewhere it says how.
import { spawnSync } from 'node:child_process';

const has = (cmd) => !spawnSync(cmd, ['--version'], { stdio: 'ignore' }).error;

if (process.env.REDIS_URL || has(process.env.REDIS_SERVER_BIN ?? 'redis-server')) process.exit(0);

const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
if (isRoot && has('apt-get')) {
  console.log('==> redis-server is missing; installing it with apt-get (the store tests need a real one)');
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  for (const args of [
    ['update', '-qq'],
    ['install', '-y', '-qq', '--no-install-recommends', 'redis-server'],
  ]) {
    const run = spawnSync('apt-get', args, { stdio: 'inherit', env });
    if (run.status !== 0) process.exit(run.status ?? 1);
  }
  process.exit(0);
}
console.error(
  'redis-server is not installed, and the store tests need a real one.\n' +
    '  Debian/Ubuntu: sudo apt-get install -y redis-server    macOS: brew install redis\n' +
    '  or point REDIS_URL at a disposable Redis (its keys are namespaced per test, but use a throwaway one).',
);
process.exit(1);
