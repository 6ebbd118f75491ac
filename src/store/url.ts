/**
 * STORE_URL: which engine, and where. The accepted forms are listed in every refusal; the given URL is never
 * echoed whole, because a Redis URL may carry a password.
 */
import { isAbsolute, resolve } from 'node:path';
import { StoreError } from './types.js';

const DEFAULT_STORE_URL = 'sqlite://./data/accountdesk.sqlite';

export type StoreLocation =
  | { engine: 'sqlite'; file: string }
  /** displayUrl: scheme, host, port and db only (no user, no password), safe for messages and logs. */
  | { engine: 'redis'; url: string; displayUrl: string };

const ACCEPTED_FORMS =
  'Use one of: sqlite://./data/accountdesk.sqlite (a file relative to the working directory; the default), ' +
  'sqlite:///absolute/path/store.sqlite, redis://[user:password@]host:6379[/db], ' +
  'rediss://[user:password@]host:6380[/db] (Redis over TLS).';

export function parseStoreUrl(url: string | undefined, cwd: string = process.cwd()): StoreLocation {
  const text = (url ?? '').trim() || DEFAULT_STORE_URL;
  if (text.startsWith('sqlite://')) {
    const path = text.slice('sqlite://'.length);
    if (path === '' || path === '/' || path.includes('?') || path === ':memory:') {
      throw refuse(`"${text}" names no database file.`);
    }
    return { engine: 'sqlite', file: isAbsolute(path) ? path : resolve(cwd, path) };
  }
  if (text.startsWith('redis://') || text.startsWith('rediss://')) {
    let parsed: URL;
    try {
      parsed = new URL(text);
    } catch {
      throw refuse('The Redis URL could not be parsed.');
    }
    const db = parsed.pathname.replace(/^\//, '');
    if (parsed.hostname === '' || (db !== '' && !/^\d+$/.test(db))) {
      throw refuse('The Redis URL needs a host and, optionally, a numeric database (/0 ... /15).');
    }
    const port = parsed.port || (parsed.protocol === 'rediss:' ? '6380' : '6379');
    const displayUrl = `${parsed.protocol}//${parsed.hostname}:${port}${db === '' ? '' : `/${db}`}`;
    return { engine: 'redis', url: text, displayUrl };
  }
  const scheme = /^([a-z][a-z0-9+.-]{0,19}):/i.exec(text)?.[1];
  throw refuse(scheme ? `The scheme "${scheme}:" is not supported.` : 'It is not a URL.');
}

function refuse(why: string): StoreError {
  return new StoreError('unavailable', `STORE_URL is not a store AccountDesk can use. ${why} ${ACCEPTED_FORMS}`);
}
