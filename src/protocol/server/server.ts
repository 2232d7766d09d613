/**
 * The embedded gearman job server: TCP and TLS listeners sharing one job store, the binary
 * protocol and the admin text protocol on the same port.
 *
 *   const server = new GearmanServer({ port: 4730, logger });
 *   const { host, port } = await server.listen();
 *   ...
 *   await server.close({ graceMs: 5_000 });
 */
import { Buffer } from 'node:buffer';
import { type Server, type Socket, createServer as createTcpServer } from 'node:net';
import { createSecureContext } from 'node:tls';
import type { Logger } from '../../util/log.ts';
import { AccessPolicy } from './acl/policy.ts';
import type { AccessRules } from './acl/rules.ts';
import { type AdminContext, answerAdminLine } from './admin-commands.ts';
import { Broker } from './broker.ts';
import { ServerStateError } from './errors.ts';
import type { Job } from './job.ts';
import { type GearmanServerOptions, type ListenOptions, type ResolvedOptions, resolveOptions } from './options.ts';
import { Peer, type PeerHandlers } from './peer.ts';
import { handleRequest } from './requests.ts';
import { TlsHandshakes } from './tls-handshakes.ts';

export interface BoundAddress {
  readonly host: string;
  readonly port: number;
  readonly tls: boolean;
}

export interface CloseOptions {
  /** How long running jobs may still finish (their results reach their clients); meanwhile no new job starts. Default 0. */
  readonly graceMs?: number;
}

export interface ServerStats {
  readonly connections: number;
  /** Accepted TLS connections still in their handshake. */
  readonly handshakes: number;
  readonly jobs: number;
  readonly queued: number;
  readonly running: number;
  readonly heldBytes: number;
}

export class GearmanServer {
  private readonly options: ResolvedOptions;
  private readonly logger: Logger;
  private readonly broker: Broker;
  private readonly listeners: { server: Server; address: BoundAddress }[] = [];
  /** Open connections, oldest first (the order `workers` lists them in). */
  private readonly peers = new Set<Peer>();
  /** Accepted TLS sockets whose handshake has not finished; they count against maxConnections. */
  private readonly handshakes: TlsHandshakes;
  private readonly handlers: PeerHandlers;
  private readonly admin: AdminContext;
  private nextPeerId = 1;
  private closing: Promise<void> | undefined;
  /** Access rules in force; undefined: everyone may do everything (and nothing is checked). */
  private policy: AccessPolicy | undefined;

  constructor(options: GearmanServerOptions = {}) {
    this.options = resolveOptions(options);
    this.logger = this.options.logger;
    this.broker = new Broker(this.options);
    this.handshakes = new TlsHandshakes(this.options.handshakeTimeoutMs, this.logger);
    this.admin = { broker: this.broker, connections: () => this.peers };
    if (options.acl !== undefined) this.setAccessRules(options.acl);
    this.handlers = {
      packet: (peer, packet) => handleRequest(this.broker, peer, packet),
      text: (peer, line) => peer.sendText(answerAdminLine(this.admin, line, peer.grants)),
      closed: (peer) => {
        this.peers.delete(peer);
        this.broker.closed(peer);
      },
    };
  }

  /**
   * Puts access rules in force (undefined lifts them), for new and open connections alike. A
   * function an open connection registered and may no longer do is taken from it (CANT_DO);
   * jobs it is running stay with it and finish.
   */
  setAccessRules(rules: AccessRules | undefined): void {
    this.policy = rules === undefined ? undefined : new AccessPolicy(rules, this.logger);
    for (const peer of this.peers) {
      peer.grants = this.policy?.grantsFor(peer.certName, peer.label);
      const grants = peer.grants;
      if (grants === undefined) continue;
      for (const name of [...peer.abilities.keys()]) {
        if (grants.may('register', name)) continue;
        this.logger.warn(`${peer.label} ${grants.who}: ${JSON.stringify(name)} is no longer granted; unregistered`);
        this.broker.cantDo(peer, name);
      }
    }
    if (rules === undefined) this.logger.info('access rules lifted: every connection may do everything');
    else this.logger.info(`access rules from ${rules.source} in force: ${rules.rules.length} rule(s)`);
  }

  /** The addresses listened on, in the order listen() was called. */
  get addresses(): readonly BoundAddress[] {
    return this.listeners.map((l) => l.address);
  }

  /**
   * Starts a listener; with no argument, the one the constructor's options describe. Call it
   * again (say, with `tls`) to serve the same jobs on more ports.
   */
  async listen(options?: ListenOptions): Promise<BoundAddress> {
    if (this.closing) throw new ServerStateError('CLOSED', 'the server is closed');
    const host = options?.host ?? this.options.host;
    const port = options === undefined ? this.options.port : (options.port ?? 0);
    const tls = options === undefined ? this.options.tls : options.tls;
    if (tls?.requireClientCert === true && tls.ca === undefined) {
      // Without a CA of our own, the TLS stack would trust the public roots (and NODE_EXTRA_CA_CERTS).
      throw new ServerStateError('BAD_OPTIONS', 'requireClientCert needs ca: the CA that client certificates must come from');
    }
    // TLS runs on plain accepted sockets, so a connection counts from its first byte (see tls-handshakes.ts).
    const handshake = tls
      ? {
          context: createSecureContext({
            cert: pem(tls.cert),
            key: pem(tls.key),
            ...(tls.ca === undefined ? {} : { ca: pem(tls.ca) }),
          }),
          requireClientCert: tls.requireClientCert === true,
          // With a CA of our own, a client may show a certificate (access rules read its CN)
          // even where one is not required.
          requestClientCert: tls.requireClientCert === true || tls.ca !== undefined,
        }
      : undefined;
    const server = createTcpServer();
    server.on('connection', (socket: Socket) => {
      if (!this.admit(socket)) return;
      if (handshake === undefined) this.accept(socket);
      else this.handshakes.start(socket, handshake, (secured) => this.accept(secured));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', (err) =>
        reject(new ServerStateError('LISTEN_FAILED', `cannot listen on ${host}:${port}: ${err.message}`, { cause: err })),
      );
      server.listen(port, host, () => resolve());
    });
    server.on('error', (err) => this.logger.error(`listener ${host}:${port}: ${err.message}`));
    const bound = server.address();
    const address: BoundAddress = {
      host,
      port: typeof bound === 'object' && bound !== null ? bound.port : port,
      tls: tls !== undefined,
    };
    this.listeners.push({ server, address });
    this.logger.info(`gearman job server listening on ${tls ? 'tls://' : ''}${host}:${address.port}`);
    return address;
  }

  stats(): ServerStats {
    const { store } = this.broker;
    let queued = 0;
    let running = 0;
    for (const fn of store.functions.values()) {
      queued += fn.queued[0] + fn.queued[1] + fn.queued[2];
      running += fn.running;
    }
    return { connections: this.peers.size, handshakes: this.handshakes.size, jobs: store.jobs.size, queued, running, heldBytes: store.heldBytes };
  }

  /**
   * Stops accepting connections; lets running jobs finish for up to `graceMs` while no new
   * job starts and submissions are refused; logs every background job that will not run
   * (function, handle and unique, never the payload); closes every connection.
   */
  close(options: CloseOptions = {}): Promise<void> {
    this.closing ??= this.shutDown(options.graceMs ?? 0);
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Whether a new TCP connection may stay: connections still in their TLS handshake count too. */
  private admit(socket: Socket): boolean {
    if (this.closing || this.peers.size + this.handshakes.size >= this.options.maxConnections) {
      this.logger.warn(`refusing a connection from ${socket.remoteAddress}: ${this.closing ? 'shutting down' : 'too many connections'}`);
      socket.destroy();
      return false;
    }
    return true;
  }

  private accept(socket: Socket): void {
    if (this.closing) {
      socket.destroy();
      return;
    }
    const peer = new Peer(socket, this.nextPeerId++, this.handlers, this.options, this.logger);
    if (this.policy !== undefined) {
      peer.grants = this.policy.grantsFor(peer.certName, peer.label);
      this.logger.info(`${peer.label}: connected as ${peer.grants.who}`);
    } else if (peer.certName !== undefined) this.logger.debug(`${peer.label}: connected with certificate CN=${peer.certName}`);
    this.peers.add(peer);
  }

  private async shutDown(graceMs: number): Promise<void> {
    const stopped = Promise.all(
      this.listeners.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
    this.handshakes.destroyAll();
    this.broker.drain();
    if (graceMs > 0) await this.waitForRunningJobs(graceMs);
    this.report(this.broker.stop());
    for (const peer of this.peers) peer.end();
    await Promise.race([stopped, new Promise((resolve) => setTimeout(resolve, 2_000))]);
  }

  private async waitForRunningJobs(graceMs: number): Promise<void> {
    const deadline = Date.now() + graceMs;
    while (this.stats().running > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  }

  private report(unfinished: readonly Job[]): void {
    if (unfinished.length === 0) {
      this.logger.info('gearman job server stopped with no background job left');
      return;
    }
    for (const job of unfinished) {
      this.logger.warn(
        `background job lost at shutdown: function=${job.fn.name} handle=${job.handle} unique=${job.unique} (${job.state})`,
      );
    }
    this.logger.warn(`gearman job server stopped; ${unfinished.length} background job(s) were not run to the end`);
  }
}

function pem(value: string | Uint8Array): string | Buffer {
  return typeof value === 'string' ? value : Buffer.from(value);
}
