/** Test helpers: our server in this process, and raw-socket peers that speak packets by hand. */
import { Buffer } from 'node:buffer';
import { type Socket, connect } from 'node:net';
import { type ConnectionOptions, connect as connectTls } from 'node:tls';
import { type Packet, Decoder } from '../../../src/protocol/codec/decoder.ts';
import { type Arg, encodePacketBuffer } from '../../../src/protocol/codec/encoder.ts';
import { Type, packetName } from '../../../src/protocol/codec/packets.ts';
import { GearmanServer, type GearmanServerOptions } from '../../../src/protocol/server/index.ts';

export { Type };

export async function startServer(options: GearmanServerOptions = {}): Promise<{ server: GearmanServer; port: number }> {
  const server = new GearmanServer({ host: '127.0.0.1', port: 0, handleHost: 'test', ...options });
  const { port } = await server.listen();
  return { server, port };
}

export interface Received {
  readonly type: number;
  readonly name: string;
  readonly args: string[];
}

/** One connection; packets it receives queue up until a test takes them. */
export class RawPeer {
  readonly socket: Socket;
  readonly received: Received[] = [];
  readonly lines: string[] = [];
  closed = false;
  private readonly waiters: (() => void)[] = [];
  private readonly decoder = new Decoder(
    { packet: (p) => this.push(p), text: (line) => this.pushLine(line) },
    { expect: 'RES' },
  );

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch {
        socket.destroy();
      }
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.notify();
    });
  }

  static open(port: number): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.setNoDelay(true);
      socket.once('connect', () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
    });
  }

  /** Over TLS; rejects if the handshake fails (or the server closes the connection right after it). */
  static openTls(port: number, options: ConnectionOptions): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = connectTls({ host: '127.0.0.1', port, servername: 'localhost', ...options });
      socket.setNoDelay(true);
      socket.once('secureConnect', () => resolve(new RawPeer(socket)));
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed during the TLS handshake')));
    });
  }

  send(type: number, args: readonly Arg[] = []): void {
    this.socket.write(encodePacketBuffer('REQ', type, args));
  }

  write(bytes: Uint8Array | string): void {
    this.socket.write(bytes);
  }

  /** The next packet received (of `type`, when given; others before it stay queued). */
  async next(type?: number, timeoutMs = 3000): Promise<Received> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const at = this.received.findIndex((r) => type === undefined || r.type === type);
      if (at >= 0) return this.received.splice(at, 1)[0]!;
      if (this.closed) throw new Error(`connection closed while waiting for ${type === undefined ? 'a packet' : packetName(type)}`);
      if (!(await this.wait(deadline - Date.now()))) {
        throw new Error(`no ${type === undefined ? 'packet' : packetName(type)} within ${timeoutMs} ms; have ${this.describe()}`);
      }
    }
  }

  /** Asks with ECHO_REQ and waits for the answer: every reply sent before it has arrived by then. */
  async sync(): Promise<void> {
    const token = `sync-${Math.random()}`;
    this.send(Type.ECHO_REQ, [token]);
    for (;;) {
      const echo = await this.next(Type.ECHO_RES);
      if (echo.args[0] === token) return;
    }
  }

  /** Packet names received and not taken yet. */
  pending(): string[] {
    return this.received.map((r) => r.name);
  }

  async waitClosed(timeoutMs = 3000): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) await this.wait(deadline - Date.now());
    return this.closed;
  }

  close(): void {
    this.socket.destroy();
  }

  private describe(): string {
    return `[${this.pending().join(', ')}]${this.closed ? ' (closed)' : ''}`;
  }

  private push(packet: Packet): void {
    const args = packet.args.map((a) => Buffer.from(a).toString('latin1'));
    this.received.push({ type: packet.type, name: packetName(packet.type), args });
    this.notify();
  }

  private pushLine(line: string): void {
    this.lines.push(line);
    this.notify();
  }

  private wait(ms: number): Promise<boolean> {
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        const at = this.waiters.indexOf(wake);
        if (at >= 0) this.waiters.splice(at, 1);
        resolve(false);
      }, ms);
      const wake = (): void => {
        clearTimeout(timer);
        resolve(true);
      };
      this.waiters.push(wake);
    });
  }

  private notify(): void {
    for (const wake of this.waiters.splice(0)) wake();
  }
}

/** One admin connection kept open; each command returns its raw reply, byte for byte. */
export class AdminSocket {
  private buffer = '';
  private waiter: (() => void) | undefined;

  private constructor(readonly socket: Socket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      this.waiter?.();
    });
    socket.on('error', () => {});
  }

  static open(port: number): Promise<AdminSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port });
      socket.once('connect', () => resolve(new AdminSocket(socket)));
      socket.once('error', reject);
    });
  }

  /** A string line goes out as UTF-8; bytes go out as they are (names that are not UTF-8). */
  async command(line: string | Uint8Array, ending = '\r\n'): Promise<string> {
    this.buffer = '';
    this.socket.write(Buffer.concat([typeof line === 'string' ? Buffer.from(line) : line, Buffer.from(ending)]));
    const shown = typeof line === 'string' ? line : Buffer.from(line).toString('latin1');
    const deadline = Date.now() + 3000;
    while (!replyComplete(this.buffer)) {
      if (Date.now() > deadline) throw new Error(`no complete reply to ${JSON.stringify(shown)}; got ${JSON.stringify(this.buffer)}`);
      await new Promise<void>((resolve) => {
        this.waiter = resolve;
        setTimeout(resolve, 50);
      });
    }
    return this.buffer;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Sends one admin command on a fresh connection and returns the raw reply text, byte for byte. */
export async function adminRaw(port: number, command: string): Promise<string> {
  const socket = connect({ host: '127.0.0.1', port });
  let text = '';
  try {
    return await new Promise<string>((resolve, reject) => {
      socket.once('error', reject);
      socket.once('connect', () => socket.write(`${command}\r\n`));
      socket.on('data', (chunk: Buffer) => {
        text += chunk.toString('latin1');
        if (replyComplete(text)) resolve(text);
      });
      setTimeout(() => reject(new Error(`no complete reply to ${command}; got ${JSON.stringify(text)}`)), 3000);
    });
  } finally {
    socket.destroy();
  }
}

function replyComplete(text: string): boolean {
  if (text.startsWith('ERR ') || text.startsWith('OK')) return text.endsWith('\n');
  return text === '.\n' || text.endsWith('\n.\n');
}
