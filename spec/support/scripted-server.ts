import { type Server, type Socket, createServer } from 'node:net';
import { type Packet, Decoder } from '../../src/protocol/codec/decoder.ts';
import { type Arg, encodePacketBuffer } from '../../src/protocol/codec/encoder.ts';

export interface ScriptedConnection {
  readonly socket: Socket;
  reply(type: number, args: readonly Arg[]): void;
}

export interface ScriptedServer {
  readonly host: string;
  readonly port: number;
  readonly connections: number;
  close(): Promise<void>;
}

/**
 * A fake job server whose answers a test scripts packet by packet: for faults no real server
 * produces on demand (a server that stops answering ECHO_REQ, one that sends garbage).
 */
export function startScriptedServer(
  onPacket: (packet: Packet, connection: ScriptedConnection) => void,
  onRead: (chunk: Uint8Array) => void = () => {},
): Promise<ScriptedServer> {
  const sockets = new Set<Socket>();
  let connections = 0;
  const server: Server = createServer((socket) => {
    connections++;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    const connection: ScriptedConnection = {
      socket,
      reply: (type, args) => {
        if (!socket.destroyed) socket.write(encodePacketBuffer('RES', type, args));
      },
    };
    const decoder = new Decoder({ packet: (p) => onPacket(p, connection), text: () => {} }, { expect: 'REQ' });
    socket.on('data', (chunk) => {
      onRead(chunk);
      try {
        decoder.push(chunk);
      } catch {
        socket.destroy();
      }
    });
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      resolve({
        host: '127.0.0.1',
        port,
        get connections() {
          return connections;
        },
        close: () =>
          new Promise<void>((done) => {
            for (const socket of sockets) socket.destroy();
            server.close(() => done());
          }),
      });
    });
  });
}
