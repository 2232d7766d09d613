/**
 * Prototype patch of Client.submit (src/protocol/client/client.ts), installLeanSubmit(): when a
 * connection is up, submit() picks it synchronously and returns submitOn()'s promise, instead
 * of going through the async withFailover() → await pickLink() chain (a Set, two async frames
 * and their extra ticks per job). A job lost before JOB_CREATED still fails over, through the
 * original path. The caller's stack is still captured, so this isolates the promise chain.
 */
import { randomUUID } from 'node:crypto';
import { type CallSite, ClientError, callerStack } from '../../../src/protocol/client/client-errors.ts';
import type { ClientLink } from '../../../src/protocol/client/client-link.ts';
import { Client, type JobResult, type SubmitOptions } from '../../../src/protocol/client/client.ts';
import type { Arg } from '../../../src/protocol/codec/encoder.ts';
import { Type } from '../../../src/protocol/codec/packets.ts';

interface ClientInternals {
  readonly links: ClientLink[];
  cursor: number;
  started: boolean;
  submit(functionName: string, payload: Arg, options?: SubmitOptions): Promise<JobResult>;
  submitOn(
    link: ClientLink,
    type: number,
    request: readonly Arg[],
    options: SubmitOptions,
    deadline: number | undefined,
    stack: CallSite,
  ): Promise<JobResult>;
}

const FOREGROUND = { normal: Type.SUBMIT_JOB, high: Type.SUBMIT_JOB_HIGH, low: Type.SUBMIT_JOB_LOW } as const;
const proto = Client.prototype as unknown as ClientInternals;

function connectedLink(client: ClientInternals): ClientLink | undefined {
  const { links } = client;
  for (let i = 0; i < links.length; i++) {
    const k = (client.cursor + i) % links.length;
    if (links[k]!.connection.connected) {
      client.cursor = (k + 1) % links.length;
      return links[k];
    }
  }
  return undefined;
}

const unconfirmed = (err: unknown): boolean => err instanceof ClientError && err.code === 'CONNECTION_LOST' && err.handle === undefined;

/** Installs the patch; returns the undo. */
export function installLeanSubmit(): () => void {
  const submitSlow = proto.submit;
  proto.submit = function submit(this: ClientInternals, functionName, payload, options = {}) {
    const link = this.started && options.timeoutMs === undefined ? connectedLink(this) : undefined;
    if (!link) return submitSlow.call(this, functionName, payload, options);
    const stack = callerStack(proto.submit);
    const request: Arg[] = [functionName, options.unique ?? randomUUID(), payload];
    const attempt = this.submitOn(link, FOREGROUND[options.priority ?? 'normal'], request, options, undefined, stack);
    return attempt.catch((err: unknown) => (unconfirmed(err) ? submitSlow.call(this, functionName, payload, options) : Promise.reject(err)));
  };
  return () => {
    proto.submit = submitSlow;
  };
}
