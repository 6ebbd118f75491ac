/**
 * A fake Slack Socket Mode endpoint on 127.0.0.1: the WebSocket server that apps.connections.open points an app at.
 *
 * The WebSocket layer is written on node:http's 'upgrade' event (RFC 6455) so the tests need no extra package:
 *   - handshake: Sec-WebSocket-Accept = base64(sha1(Sec-WebSocket-Key + GUID)) (RFC 6455 §4.2.2); no extension is
 *     accepted, so the client must not compress (undici offers permessage-deflate and honours a refusal);
 *   - frames (§5.2): the server sends unmasked frames; every client frame must be masked (§5.1, a bare frame is a
 *     protocol error, close 1002); payload lengths in 7, 16 or 64 bits; fragmented messages are reassembled;
 *   - control frames (§5.5): a ping is answered with a pong carrying the same data (@slack/socket-mode pings every
 *     clientPingTimeout/3 and drops the connection after four unanswered pings); a close is answered with a close
 *     carrying the same code, then the TCP connection ends.
 * The Slack layer follows @slack/socket-mode 3 (SocketModeClient.js): `hello` right after the connection opens (the
 * client's start() resolves on it), envelopes {envelope_id, type, payload, accepts_response_payload[, retry_*]},
 * the client's acks {envelope_id, payload}, and a `disconnect` message that asks the client to reconnect.
 *
 * Outages: given the fake Slack Web API as `webApiUpstream`, the fake also serves a Web API base URL (`apiUrl`) that
 * forwards every call there, so that `outage(ms)` can take all of Slack away at once: sockets dropped without a close
 * frame (what a client sees when the link or Slack's edge goes), WebSocket upgrades and Web API calls answered 503.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** RFC 6455 §1.3: the fixed GUID appended to the client's key. */
const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
const OPCODE = { continuation: 0x0, text: 0x1, binary: 0x2, close: 0x8, ping: 0x9, pong: 0xa } as const;
/** Close codes used here (RFC 6455 §7.4.1). */
const CLOSE_PROTOCOL_ERROR = 1002;
const CLOSE_TOO_BIG = 1009;
/** Slack's messages are small; anything near this is a bug in the client or the test. */
const MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

export type EnvelopeType = 'slash_commands' | 'interactive' | 'events_api';

/** What the app sent back for one envelope: @slack/socket-mode's send() always wraps the ack body in `payload`. */
export interface SocketModeAck {
  envelope_id: string;
  payload?: Record<string, unknown>;
}

export interface EnvelopeOptions {
  /** Default: true for slash_commands and view_submission/block_suggestion interactions, false otherwise (as Slack). */
  acceptsResponsePayload?: boolean;
  /** events_api only: Slack's retry counter for a redelivered event (0 on first delivery). */
  retryAttempt?: number;
  retryReason?: string;
  /** Rejects the returned promise when no ack arrives within this time (default 5000 ms) so a test cannot hang. */
  ackTimeoutMs?: number;
  envelopeId?: string;
}

export interface FakeSocketMode {
  /** The ws:// URL to hand out from apps.connections.open (carries a ticket, as Slack's wss:// URLs do). */
  readonly url: string;
  /** Resolves once a client has connected and been sent `hello`; at once if one already is. */
  connected(timeoutMs?: number): Promise<void>;
  /** How many clients are connected now. */
  openConnections(): number;
  /** How many WebSocket connections were ever accepted. */
  connectionsAccepted(): number;
  /** Sends one envelope to the newest open connection; resolves with the client's ack for its envelope_id. */
  sendEnvelope(type: EnvelopeType, payload: Record<string, unknown>, options?: EnvelopeOptions): Promise<SocketModeAck>;
  /** Asks every client to reconnect, as Slack does before recycling a server ({type:'disconnect'}). */
  sendDisconnect(reason?: string): void;
  /** Close codes clients sent in their close frames, oldest first. */
  clientCloseCodes(): number[];
  /** Resolves with the code of the next client close frame (or the newest one already received, if any is unseen). */
  clientClosed(timeoutMs?: number): Promise<number>;
  /** Pings the clients sent (and the fake answered). */
  pingsAnswered(): number;
  /** Every text message clients sent, parsed, oldest first. */
  received(): unknown[];
  /** With `webApiUpstream`: a Web API base URL (ending in /api/) that forwards to it, or answers 503 in an outage. */
  readonly apiUrl: string;
  /**
   * Slack goes away for `durationMs`: every connection is dropped at once without a close frame, and until the time
   * is up every WebSocket upgrade and every Web API call through `apiUrl` is answered 503. Resolves when Slack is back.
   */
  outage(durationMs: number): Promise<void>;
  /** Web API methods answered 503 by an outage, oldest first. */
  refusedCalls(): string[];
  /** Drops every connection and stops listening. */
  close(): Promise<void>;
}

interface Connection {
  socket: Socket;
  open: boolean;
  /** True once the fake has sent its own close frame. */
  closeSent: boolean;
}

interface PendingAck {
  connection: Connection;
  resolve(ack: SocketModeAck): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export interface FakeSocketModeOptions {
  appId?: string;
  /** The fake Slack Web API's base URL (…/api/); `apiUrl` forwards to it. */
  webApiUpstream?: string;
}

export async function startFakeSocketMode(options: FakeSocketModeOptions = {}): Promise<FakeSocketMode> {
  const appId = options.appId ?? 'A0FAKE0001';
  let outageUntil = 0;
  const inOutage = () => Date.now() < outageUntil;
  const refused: string[] = [];
  const ticket = randomUUID();
  const connections: Connection[] = [];
  const pendingAcks = new Map<string, PendingAck>();
  const closeCodes: number[] = [];
  let closeCodesSeen = 0;
  const received: unknown[] = [];
  let accepted = 0;
  let pings = 0;
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const wake of [...waiters]) wake();
  };

  /** Polls a condition, woken by every connection event; rejects after timeoutMs. */
  const until = <T>(check: () => T | undefined, timeoutMs: number, what: string) =>
    new Promise<T>((resolve, reject) => {
      const attempt = () => {
        const value = check();
        if (value === undefined) return false;
        cleanup();
        resolve(value);
        return true;
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`fake Socket Mode: ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const wake = () => void attempt();
      const cleanup = () => {
        clearTimeout(timer);
        waiters.delete(wake);
      };
      waiters.add(wake);
      attempt();
    });

  const send = (connection: Connection, opcode: number, data: Buffer) => {
    if (!connection.open || connection.socket.destroyed) return;
    connection.socket.write(encodeFrame(opcode, data));
  };
  const sendJson = (connection: Connection, message: unknown) =>
    send(connection, OPCODE.text, Buffer.from(JSON.stringify(message), 'utf8'));

  const closeConnection = (connection: Connection, code: number, reason = '') => {
    if (!connection.closeSent) {
      const body = Buffer.alloc(2 + Buffer.byteLength(reason));
      body.writeUInt16BE(code, 0);
      body.write(reason, 2);
      send(connection, OPCODE.close, body);
      connection.closeSent = true;
    }
    connection.open = false;
    connection.socket.end();
    notify();
  };

  const dropConnection = (connection: Connection) => {
    connection.open = false;
    const index = connections.indexOf(connection);
    if (index >= 0) connections.splice(index, 1);
    for (const [id, pending] of pendingAcks) {
      if (pending.connection !== connection) continue;
      pendingAcks.delete(id);
      clearTimeout(pending.timer);
      pending.reject(new Error(`fake Socket Mode: the connection closed before envelope ${id} was acknowledged`));
    }
    notify();
  };

  const onText = (text: string) => {
    let message: unknown;
    try {
      message = JSON.parse(text);
    } catch {
      received.push(text);
      return;
    }
    received.push(message);
    const envelopeId =
      typeof message === 'object' && message !== null ? (message as { envelope_id?: unknown }).envelope_id : undefined;
    if (typeof envelopeId !== 'string') return;
    const pending = pendingAcks.get(envelopeId);
    if (!pending) return;
    pendingAcks.delete(envelopeId);
    clearTimeout(pending.timer);
    pending.resolve(message as SocketModeAck);
  };

  const server: Server = createServer((req, res) => {
    if (options.webApiUpstream && req.url?.startsWith('/api/')) {
      const method = req.url.slice('/api/'.length).split('?')[0] ?? '';
      if (inOutage()) {
        refused.push(method);
        req.resume();
        res.writeHead(503, { 'content-type': 'text/plain' });
        res.end('fake Slack: service unavailable (outage)\n');
        return;
      }
      void forward(req, new URL(req.url.slice('/api/'.length), options.webApiUpstream)).then(
        (answer) => {
          res.writeHead(answer.status, answer.headers);
          res.end(answer.body);
        },
        (error: unknown) => {
          res.writeHead(502, { 'content-type': 'text/plain' });
          res.end(`fake Socket Mode: the upstream fake Slack failed: ${String(error)}\n`);
        },
      );
      return;
    }
    // Socket Mode only speaks WebSocket; a plain request is a misdirected test.
    res.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
    res.end('fake Socket Mode: WebSocket upgrade required\n');
  });

  server.on('upgrade', (req: IncomingMessage, socket: Socket, head: Buffer) => {
    const refusal = inOutage() ? '503 Service Unavailable' : handshakeRefusal(req, ticket);
    if (refusal) {
      socket.end(`HTTP/1.1 ${refusal}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
      return;
    }
    const key = req.headers['sec-websocket-key'] as string;
    const acceptKey = createHash('sha1')
      .update(key + WEBSOCKET_GUID)
      .digest('base64');
    socket.setNoDelay(true);
    socket.write(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${acceptKey}\r\n\r\n`,
    );
    const connection: Connection = { socket, open: true, closeSent: false };
    connections.push(connection);
    accepted += 1;

    const parser = new FrameParser();
    let fragments: Buffer[] | undefined;
    let fragmentOpcode: number = OPCODE.text;
    const onData = (chunk: Buffer) => {
      let frames: Frame[];
      try {
        frames = parser.push(chunk);
      } catch (error) {
        const code = error instanceof FrameError ? error.closeCode : CLOSE_PROTOCOL_ERROR;
        closeConnection(connection, code, error instanceof Error ? error.message.slice(0, 100) : '');
        return;
      }
      for (const frame of frames) {
        if (!connection.open) return;
        switch (frame.opcode) {
          case OPCODE.ping:
            pings += 1;
            send(connection, OPCODE.pong, frame.payload);
            break;
          case OPCODE.pong:
            break;
          case OPCODE.close: {
            const code = frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005;
            closeCodes.push(code);
            // Echo the client's code (RFC 6455 §5.5.1); 1005 means "no code" and must not be sent on the wire.
            closeConnection(connection, code === 1005 ? 1000 : code);
            break;
          }
          case OPCODE.text:
          case OPCODE.binary:
            if (frame.fin) {
              if (frame.opcode === OPCODE.text) onText(frame.payload.toString('utf8'));
            } else {
              fragments = [frame.payload];
              fragmentOpcode = frame.opcode;
            }
            break;
          case OPCODE.continuation: {
            if (!fragments)
              return closeConnection(connection, CLOSE_PROTOCOL_ERROR, 'continuation without a first fragment');
            fragments.push(frame.payload);
            if (fragments.reduce((n, f) => n + f.length, 0) > MAX_MESSAGE_BYTES)
              return closeConnection(connection, CLOSE_TOO_BIG);
            if (frame.fin) {
              const whole = Buffer.concat(fragments);
              fragments = undefined;
              if (fragmentOpcode === OPCODE.text) onText(whole.toString('utf8'));
            }
            break;
          }
          default:
            return closeConnection(connection, CLOSE_PROTOCOL_ERROR, `unknown opcode ${frame.opcode}`);
        }
      }
    };
    socket.on('data', onData);
    socket.on('error', () => socket.destroy());
    socket.on('close', () => dropConnection(connection));
    if (head.length > 0) onData(head);

    // Slack greets every new connection; SocketModeClient.start() resolves only on this message.
    sendJson(connection, {
      type: 'hello',
      num_connections: connections.length,
      debug_info: { host: 'applink-fake-127-0-0-1', build_number: 1, approximate_connection_time: 18060 },
      connection_info: { app_id: appId },
    });
    notify();
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const newestOpen = () => [...connections].reverse().find((c) => c.open);

  return {
    url: `ws://127.0.0.1:${port}/link/?ticket=${ticket}&app_id=${appId}`,
    apiUrl: `http://127.0.0.1:${port}/api/`,
    outage(durationMs) {
      outageUntil = Date.now() + durationMs;
      for (const connection of [...connections]) connection.socket.destroy();
      return new Promise((resolve) => setTimeout(resolve, durationMs));
    },
    refusedCalls: () => [...refused],
    connected: (timeoutMs = 5_000) =>
      until(() => (newestOpen() ? true : undefined), timeoutMs, 'no client connected').then(() => undefined),
    openConnections: () => connections.filter((c) => c.open).length,
    connectionsAccepted: () => accepted,
    sendEnvelope(type, payload, envelopeOptions = {}) {
      const connection = newestOpen();
      if (!connection)
        return Promise.reject(new Error('fake Socket Mode: no client is connected to send an envelope to'));
      const envelopeId = envelopeOptions.envelopeId ?? randomUUID();
      const interactionType = typeof payload.type === 'string' ? payload.type : '';
      const acceptsResponsePayload =
        envelopeOptions.acceptsResponsePayload ??
        (type === 'slash_commands' ||
          (type === 'interactive' && ['view_submission', 'block_suggestion'].includes(interactionType)));
      const timeoutMs = envelopeOptions.ackTimeoutMs ?? 5_000;
      const ack = new Promise<SocketModeAck>((resolve, reject) => {
        const timer = setTimeout(() => {
          pendingAcks.delete(envelopeId);
          reject(
            new Error(`fake Socket Mode: envelope ${envelopeId} (${type}) was not acknowledged within ${timeoutMs} ms`),
          );
        }, timeoutMs);
        pendingAcks.set(envelopeId, { connection, resolve, reject, timer });
      });
      const envelope: Record<string, unknown> = {
        envelope_id: envelopeId,
        payload,
        type,
        accepts_response_payload: acceptsResponsePayload,
      };
      if (type === 'events_api') {
        envelope.retry_attempt = envelopeOptions.retryAttempt ?? 0;
        envelope.retry_reason = envelopeOptions.retryReason ?? '';
      }
      sendJson(connection, envelope);
      return ack;
    },
    sendDisconnect(reason = 'refresh_requested') {
      for (const connection of connections) {
        sendJson(connection, { type: 'disconnect', reason, debug_info: { host: 'applink-fake-127-0-0-1' } });
      }
    },
    clientCloseCodes: () => [...closeCodes],
    clientClosed: (timeoutMs = 5_000) =>
      until(
        () => (closeCodes.length > closeCodesSeen ? closeCodes[closeCodesSeen++] : undefined),
        timeoutMs,
        'no client sent a close frame',
      ),
    pingsAnswered: () => pings,
    received: () => [...received],
    close: () =>
      new Promise<void>((resolve, reject) => {
        for (const connection of [...connections]) connection.socket.destroy();
        for (const [id, pending] of pendingAcks) {
          clearTimeout(pending.timer);
          pending.reject(new Error(`fake Socket Mode: closed before envelope ${id} was acknowledged`));
        }
        pendingAcks.clear();
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

/** One Web API call passed on to the fake Slack as it came (form body, Authorization header). */
async function forward(
  req: IncomingMessage,
  target: URL,
): Promise<{ status: number; headers: Record<string, string>; body: Buffer }> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const headers: Record<string, string> = {};
  for (const name of ['authorization', 'content-type']) {
    const value = req.headers[name];
    if (typeof value === 'string') headers[name] = value;
  }
  const answer = await fetch(target, { method: req.method ?? 'POST', headers, body: Buffer.concat(chunks) });
  const answerHeaders: Record<string, string> = {};
  for (const name of ['content-type', 'retry-after']) {
    const value = answer.headers.get(name);
    if (value !== null) answerHeaders[name] = value;
  }
  return { status: answer.status, headers: answerHeaders, body: Buffer.from(await answer.arrayBuffer()) };
}

/** Why an upgrade request is refused (an HTTP status line), or undefined when it is a valid RFC 6455 handshake. */
function handshakeRefusal(req: IncomingMessage, ticket: string): string | undefined {
  if (req.method !== 'GET') return '405 Method Not Allowed';
  if ((req.headers.upgrade ?? '').toLowerCase() !== 'websocket') return '400 Bad Request';
  if (req.headers['sec-websocket-version'] !== '13') return '426 Upgrade Required';
  const key = req.headers['sec-websocket-key'];
  // The key is 16 random bytes, base64-encoded (RFC 6455 §4.1).
  if (typeof key !== 'string' || Buffer.from(key, 'base64').length !== 16) return '400 Bad Request';
  // Slack's URL carries a ticket from apps.connections.open; a connection without it is refused.
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  if (url.pathname !== '/link/' || url.searchParams.get('ticket') !== ticket) return '401 Unauthorized';
  return undefined;
}

/** One server-to-client frame: FIN set, never masked (RFC 6455 §5.1), length in 7, 16 or 64 bits (§5.2). */
function encodeFrame(opcode: number, payload: Buffer): Buffer {
  const length = payload.length;
  let header: Buffer;
  if (length < 126) {
    header = Buffer.alloc(2);
    header.writeUInt8(length, 1);
  } else if (length < 65_536) {
    header = Buffer.alloc(4);
    header.writeUInt8(126, 1);
    header.writeUInt16BE(length, 2);
  } else {
    header = Buffer.alloc(10);
    header.writeUInt8(127, 1);
    header.writeBigUInt64BE(BigInt(length), 2);
  }
  header.writeUInt8(0x80 | opcode, 0);
  return Buffer.concat([header, payload]);
}

/** A client-to-server frame as a browser or undici sends it: masked with a fresh 4-byte key. For the fake's tests. */
export function encodeMaskedFrame(opcode: number, payload: Buffer, fin = true): Buffer {
  const unmasked = encodeFrame(opcode, payload);
  const headerLength = unmasked.length - payload.length;
  const mask = randomBytes(4);
  const header = Buffer.from(unmasked.subarray(0, headerLength));
  header.writeUInt8((fin ? 0x80 : 0) | opcode, 0);
  header.writeUInt8(header.readUInt8(1) | 0x80, 1);
  const masked = Buffer.alloc(payload.length);
  for (let i = 0; i < payload.length; i++) masked[i] = payload.readUInt8(i) ^ mask.readUInt8(i % 4);
  return Buffer.concat([header, mask, masked]);
}

interface Frame {
  fin: boolean;
  opcode: number;
  payload: Buffer;
}

class FrameError extends Error {
  constructor(
    message: string,
    readonly closeCode: number,
  ) {
    super(message);
  }
}

/** Cuts a byte stream into client frames and unmasks them; frames may arrive split across or packed into chunks. */
class FrameParser {
  private buffered: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): Frame[] {
    this.buffered = this.buffered.length === 0 ? chunk : Buffer.concat([this.buffered, chunk]);
    const frames: Frame[] = [];
    for (;;) {
      const frame = this.next();
      if (!frame) return frames;
      frames.push(frame);
    }
  }

  private next(): Frame | undefined {
    const data = this.buffered;
    if (data.length < 2) return undefined;
    const first = data.readUInt8(0);
    const second = data.readUInt8(1);
    if ((first & 0x70) !== 0)
      throw new FrameError('reserved bits set without a negotiated extension', CLOSE_PROTOCOL_ERROR);
    const fin = (first & 0x80) !== 0;
    const opcode = first & 0x0f;
    const masked = (second & 0x80) !== 0;
    if (!masked) throw new FrameError('client frames must be masked', CLOSE_PROTOCOL_ERROR);
    let length = second & 0x7f;
    let offset = 2;
    if (length === 126) {
      if (data.length < 4) return undefined;
      length = data.readUInt16BE(2);
      offset = 4;
    } else if (length === 127) {
      if (data.length < 10) return undefined;
      const big = data.readBigUInt64BE(2);
      if (big > BigInt(MAX_MESSAGE_BYTES)) throw new FrameError('frame too big', CLOSE_TOO_BIG);
      length = Number(big);
      offset = 10;
    }
    if (length > MAX_MESSAGE_BYTES) throw new FrameError('frame too big', CLOSE_TOO_BIG);
    // Control frames are never fragmented and carry at most 125 bytes (RFC 6455 §5.5).
    if (opcode >= 0x8 && (!fin || length > 125)) throw new FrameError('invalid control frame', CLOSE_PROTOCOL_ERROR);
    if (data.length < offset + 4 + length) return undefined;
    const mask = data.subarray(offset, offset + 4);
    const payload = Buffer.alloc(length);
    const start = offset + 4;
    for (let i = 0; i < length; i++) payload[i] = data.readUInt8(start + i) ^ mask.readUInt8(i % 4);
    this.buffered = data.subarray(start + length);
    return { fin, opcode, payload };
  }
}
