/**
 * The one logger. JSON lines by default (what log collectors want); LOG_PRETTY=1 for humans in `npm run dev`.
 *
 * Secrets are removed twice: by key (pino's redact paths: tokens, passwords, Authorization headers wherever they
 * sit) and by value (every configured secret string is replaced in every line, so a secret that slipped into a
 * message or an error text is still never written).
 */
import { pino, type Logger, type LoggerOptions, type DestinationStream } from 'pino';

export type { Logger };

/** Keys whose values are never logged, at any depth pino can address. */
const REDACT_PATHS = [
  'token',
  'botToken',
  'appToken',
  'signingSecret',
  'password',
  'passwd',
  'secret',
  'authorization',
  'Authorization',
  'cookie',
  'otp_code',
  'SynoToken',
  '_sid',
  'sid',
  'synotoken',
  'device_id',
  '*.token',
  '*.botToken',
  '*.appToken',
  '*.signingSecret',
  '*.password',
  '*.passwd',
  '*.secret',
  '*.authorization',
  '*.Authorization',
  '*.cookie',
  '*.otp_code',
  '*.SynoToken',
  '*._sid',
  '*.sid',
  '*.synotoken',
  '*.device_id',
  'headers.authorization',
  'headers.cookie',
  'headers["x-syno-token"]',
  'req.headers.authorization',
  '*.headers.authorization',
  '*.headers["x-syno-token"]',
];

export interface LogOptions {
  level?: string;
  pretty?: boolean;
  /** Secret values (tokens, passwords) to scrub from every line, whatever key or message they hide in. */
  secrets?: readonly string[];
  /** Where lines go (tests pass a capturing stream). Default stdout. */
  destination?: DestinationStream;
}

export function createLogger(options: LogOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s) => s.length >= 4);
  const pinoOptions: LoggerOptions = {
    level: options.level ?? 'info',
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Error causes carry request options from undici; pino's default err serializer keeps message and stack.
    formatters: {
      level: (label) => ({ level: label }),
      // pino's paths stop at the depth written out above; an object logged deeper (a request body inside call
      // options, a header inside an error context) would otherwise keep its password. This walk covers any depth
      // of what is logged. (pino applies no formatter to child() bindings: there only the paths above hold.)
      log: (object) => redactSecretKeys(object, 0, new WeakSet()) as Record<string, unknown>,
    },
  };
  const sink = scrubbing(options.destination ?? prettyOrStdout(options.pretty === true), secrets);
  return pino(pinoOptions, sink);
}

const SECRET_KEYS = new Set(
  REDACT_PATHS.filter((p) => /^[\w-]+$/.test(p))
    .map((p) => p.toLowerCase())
    .concat(['x-syno-token', 'signing_secret', 'app_password']),
);
const MAX_REDACT_DEPTH = 10;

/**
 * A copy of `value` with every secret-named key censored, at any depth (copy-on-write: an object without such
 * keys is returned as it is). Errors and class instances are left to pino's serializers and the value scrub.
 */
function redactSecretKeys(value: unknown, depth: number, seen: WeakSet<object>): unknown {
  if (
    typeof value !== 'object' ||
    value === null ||
    depth > MAX_REDACT_DEPTH ||
    value instanceof Error ||
    seen.has(value)
  )
    return value;
  seen.add(value);
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    value.forEach((item, i) => {
      const next = redactSecretKeys(item, depth + 1, seen);
      if (next !== item) (copy ??= [...(value as unknown[])])[i] = next;
    });
    return copy ?? value;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const next = SECRET_KEYS.has(key.toLowerCase()) ? '[redacted]' : redactSecretKeys(item, depth + 1, seen);
    if (next !== item) (copy ??= { ...(value as Record<string, unknown>) })[key] = next;
  }
  return copy ?? value;
}

/** Replaces every occurrence of a secret (also JSON-escaped) before the line reaches its destination. */
function scrubbing(destination: DestinationStream, secrets: readonly string[]): DestinationStream {
  if (secrets.length === 0) return destination;
  const needles = [...new Set(secrets.flatMap((s) => [s, JSON.stringify(s).slice(1, -1), encodeURIComponent(s)]))].sort(
    (a, b) => b.length - a.length,
  );
  return {
    write(line: string) {
      let out = line;
      for (const needle of needles) if (out.includes(needle)) out = out.split(needle).join('[redacted]');
      destination.write(out);
    },
  };
}

function prettyOrStdout(pretty: boolean): DestinationStream {
  if (!pretty) return pino.destination({ dest: 1, sync: false });
  // pino-pretty is a dev dependency: `npm run dev` has it, a production install may not.
  return pino.transport({ target: 'pino-pretty', options: { colorize: true } });
}
