/* global fetch, AbortSignal -- Node 20 globals that eslint.config.js does not declare for .mjs files */
// The container's HEALTHCHECK: GET /healthz on the port this mode serves it on (HTTP mode: PORT; Socket Mode:
// HEALTH_PORT). Exit 0 when it answers 200, 1 otherwise (Docker's convention).
const httpMode = process.env.SLACK_MODE === 'http';
const port = httpMode ? (process.env.PORT ?? '3000') : process.env.HEALTH_PORT;
if (!port) {
  console.error('HEALTH_PORT is not set: Socket Mode serves /healthz only on HEALTH_PORT');
  process.exit(1);
}
try {
  const response = await fetch(`http://127.0.0.1:${port}/healthz`, { signal: AbortSignal.timeout(4_000) });
  process.exit(response.status === 200 ? 0 : 1);
} catch (err) {
  console.error(`GET /healthz on port ${port} failed: ${err instanceof Error ? err.message : String(err)}`);
  process.exit(1);
}
