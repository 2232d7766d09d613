/**
 * The client's per-job CPU path in memory: 16 jobs in flight through a fake gearmand that
 * answers each SUBMIT_JOB with JOB_CREATED and, one job per chunk, WORK_COMPLETE (echo).
 * Variants: our Client, with the lean-submit patch and/or stack capture off, and the raw
 * client's logic. The fake server's own cost is in every variant alike.
 */
import { Buffer } from 'node:buffer';
import type { ClientLink } from '../../../src/protocol/client/client-link.ts';
import { Client } from '../../../src/protocol/client/client.ts';
import { type Packet, Decoder } from '../../../src/protocol/codec/decoder.ts';
import { encodePacketBuffer } from '../../../src/protocol/codec/encoder.ts';
import { Type } from '../../../src/protocol/codec/packets.ts';
import { type EchoDriver, runBatch } from '../harness/batch.ts';
import { payload } from '../payload.ts';
import { createRawClient } from '../peers/raw-client-core.ts';
import { installLeanSubmit } from '../prototypes/lean-submit.ts';
import { installNoStack } from '../prototypes/no-stack.ts';
import { attach } from './fake-line.ts';

export const CLIENT_VARIANTS = ['ours', 'ours+no-stack', 'ours+lean-submit', 'ours+lean+no-stack', 'raw'] as const;
export type ClientVariant = (typeof CLIENT_VARIANTS)[number];

const FN = 'probe-echo';
const INFLIGHT = 16;

/** The fake gearmand: reads REQ bytes, answers in its own microtask "ticks". */
class FakeServer {
  deliver: (chunk: Buffer) => void = () => {};
  private readonly decoder = new Decoder({ packet: (p) => this.request(p), text: () => {} }, { expect: 'REQ' });
  private replies: Buffer[] = [];
  private readonly running: [handle: string, data: Uint8Array][] = [];
  private next = 0;
  private scheduled = false;

  write(chunk: Uint8Array): void {
    this.decoder.push(Buffer.from(chunk));
    this.schedule();
  }

  private request(packet: Packet): void {
    if (packet.type === Type.OPTION_REQ) this.replies.push(encodePacketBuffer('RES', Type.OPTION_RES, [packet.args[0]!]) as Buffer);
    if (packet.type !== Type.SUBMIT_JOB) return;
    const handle = `H:probe:${++this.next}`;
    this.replies.push(encodePacketBuffer('RES', Type.JOB_CREATED, [handle]) as Buffer);
    this.running.push([handle, Buffer.from(packet.args[2]!)]);
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => this.tick());
  }

  /** One chunk: every JOB_CREATED owed, then one WORK_COMPLETE. */
  private tick(): void {
    this.scheduled = false;
    const done = this.running.shift();
    if (done) this.replies.push(encodePacketBuffer('RES', Type.WORK_COMPLETE, done) as Buffer);
    if (this.replies.length === 0) return;
    const chunk = Buffer.concat(this.replies);
    this.replies = [];
    this.deliver(chunk);
    if (this.running.length > 0) this.schedule();
  }
}

function oursDriver(server: FakeServer): EchoDriver {
  const client = new Client({ servers: [{ host: 'probe', port: 1 }] });
  (client as unknown as { started: boolean }).started = true;
  const link = (client as unknown as { links: ClientLink[] }).links[0]!;
  const line = attach(link.connection, (chunk) => server.write(chunk));
  server.deliver = (chunk) => line.push(chunk);
  return {
    submit(data, done, fail) {
      client.submit(FN, data).then((result) => done(result.data), fail);
    },
    close: () => {},
  };
}

function rawDriver(server: FakeServer): EchoDriver {
  const client = createRawClient(FN, [(bytes) => server.write(bytes)]);
  server.deliver = (chunk) => client.onData(0, chunk);
  return { submit: client.submit, close: () => {} };
}

export function clientDriver(variant: ClientVariant): EchoDriver {
  const server = new FakeServer();
  if (variant === 'raw') return rawDriver(server);
  if (variant === 'ours+no-stack' || variant === 'ours+lean+no-stack') installNoStack();
  if (variant === 'ours+lean-submit' || variant === 'ours+lean+no-stack') installLeanSubmit();
  return oursDriver(server);
}

/** `count` distinct payloads, built before any clock starts. */
export const clientPayloads = (runId: number, count: number): Buffer[] => Array.from({ length: count }, (_, i) => payload(runId, i));

/** Runs the echo jobs, 16 in flight; throws unless every result is its job's payload. */
export async function runClientJobs(driver: EchoDriver, payloads: readonly Buffer[]): Promise<void> {
  const result = await runBatch(driver, payloads, INFLIGHT);
  if (result.bad > 0) throw new Error(`${result.bad} wrong echoes`);
}
