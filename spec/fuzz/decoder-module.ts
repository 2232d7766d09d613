/**
 * Loads the decoder under test for the fuzz script's `--decoder <module>` option: any module that
 * exports a `Decoder` class shaped like src/protocol/codec/decoder.ts's. Used to try a candidate decoder,
 * or a deliberately broken copy, to prove the run catches it.
 */
import { resolve } from 'node:path';
import type { DecoderHandlers, DecoderOptions } from '../../src/protocol/codec/decoder.ts';
import { type DecoderFactory, type DecoderLike, realDecoder } from './invariants.ts';

type DecoderClass = new (handlers: DecoderHandlers, options: DecoderOptions) => DecoderLike;

export async function loadDecoderFactory(modulePath: string | undefined): Promise<DecoderFactory> {
  if (modulePath === undefined) return realDecoder;
  const loaded: unknown = await import(resolve(modulePath));
  const Decoder = typeof loaded === 'object' && loaded !== null ? (loaded as Record<string, unknown>).Decoder : undefined;
  if (typeof Decoder !== 'function') throw new TypeError(`${modulePath} does not export a Decoder class`);
  const DecoderClass = Decoder as DecoderClass;
  return (handlers, options) => new DecoderClass(handlers, options);
}
