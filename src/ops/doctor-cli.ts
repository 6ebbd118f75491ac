/**
 * `npm run doctor`: checks Slack, every backend, the store and the policy, prints one line per check (with a fix
 * for each failure) and exits 1 when anything failed, 0 otherwise. Reads .env and the config like `npm start`;
 * it can run beside a running bot (it changes nothing).
 */
import { existsSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { createBackend } from '../backends/registry.js';
import { ConfigError, loadConfig } from '../config/load.js';
import { createLogger } from '../log.js';
import { diagnoseSlack } from '../slack/doctor.js';
import { openStore, type Store } from '../store/index.js';
import { formatReport, passed, runDoctor } from './doctor.js';

/** Runs the doctor for `env`; returns the report and the exit code. */
export async function doctorCommand(env: NodeJS.ProcessEnv): Promise<{ report: string; code: number }> {
  let config;
  try {
    config = loadConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    const lines = err.problems.map((p) => `FAIL  config  ${p}`);
    return { report: [...lines, `${lines.length} config problem(s): nothing else was checked.`].join('\n'), code: 1 };
  }
  const logger = createLogger({ level: 'silent', secrets: config.secrets });
  const backends = new Map(
    Object.entries(config.backends).map(([name, { config: backend, secret }]) => [
      name,
      createBackend(name, backend, secret, { logger, env }),
    ]),
  );
  const closeBackends = () => Promise.all([...backends.values()].map((b) => b.close().catch(() => undefined)));
  let store: Store;
  try {
    store = await openStore(config.storeUrl, { namespace: config.storeNamespace });
  } catch (err) {
    await closeBackends();
    const words = err instanceof Error ? err.message : String(err);
    return { report: `FAIL  store  open: ${words} -> fix: check STORE_URL and that the store is reachable`, code: 1 };
  }
  try {
    const lines = await runDoctor({
      config,
      backends,
      store,
      slack: () =>
        diagnoseSlack({
          settings: config.slack,
          approvers: config.policy.approvers,
          requesters: config.policy.requesters,
        }),
    });
    return { report: formatReport(lines), code: passed(lines) ? 0 : 1 };
  } finally {
    await closeBackends();
    await store.close();
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (existsSync('.env')) process.loadEnvFile('.env');
  doctorCommand(process.env).then(
    ({ report, code }) => {
      process.stdout.write(`${report}\n`);
      process.exit(code);
    },
    (err: unknown) => {
      process.stderr.write(`doctor failed: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(2);
    },
  );
}
