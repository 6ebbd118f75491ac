/**
 * Where everything lives, as physical keys under one namespace. Both engines use exactly these keys, so a store
 * can be inspected by hand (redis-cli, sqlite3) and several deployments can share one Redis.
 */
const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export interface KeyLayout {
  record(collection: string, id: string): string;
  index(collection: string, indexKey: string): string;
  auditEntry(seq: number): string;
  auditHead(): string;
  cursor(name: string): string;
  once(key: string): string;
  onceStart(): string;
  lease(name: string): string;
}

export function keyLayout(namespace: string): KeyLayout {
  requireName('namespace', namespace);
  const ns = namespace;
  return {
    record: (collection, id) => `${ns}:rec:${collection}:${id}`,
    index: (collection, indexKey) => `${ns}:idx:${collection}:${indexKey}`,
    auditEntry: (seq) => `${ns}:audit:${seq}`,
    auditHead: () => `${ns}:audit:head`,
    cursor: (name) => `${ns}:cursor:${name}`,
    once: (key) => `${ns}:once:${key}`,
    onceStart: () => `${ns}:once:`,
    lease: (name) => `${ns}:lease:${name}`,
  };
}

/** Collection and namespace names become key segments; ':' in them would let two names share keys. */
export function requireName(what: string, name: string): void {
  if (!NAME.test(name)) {
    throw new TypeError(`The store ${what} "${name}" is not allowed: use 1-64 letters, digits, '_', '-' or '.'.`);
  }
}

/** Ids, cursor names, once-keys and lease names: any non-empty text, but bounded (SQLite key column, Redis key). */
export function requireKeyText(what: string, text: string): void {
  if (typeof text !== 'string' || text.length === 0 || text.length > 512) {
    throw new TypeError(`The store ${what} must be a non-empty string of at most 512 characters.`);
  }
}
