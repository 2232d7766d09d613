/**
 * The fuzz checks must be able to fail: each broken decoder below (the real one wrapped so it
 * breaks one promise) has to be caught within a few thousand generated inputs, with the right
 * complaint. The real decoder passes the same inputs.
 */
import { describe, expect, test } from 'bun:test';
import { Decoder, type DecoderHandlers, type DecoderOptions, type Packet } from '../../src/protocol/codec/decoder.ts';
import { ProtocolError } from '../../src/protocol/codec/errors.ts';
import { type Corpus, corpusFrom, loadCorpus } from './corpus.ts';
import { runCase } from './fuzz-case.ts';
import { inputAt } from './generator.ts';
import { type DecoderFactory, type DecoderLike, realDecoder } from './invariants.ts';

const corpus = await loadCorpus();
const SEED = 0x5eed;
const INPUTS = 4000;

/** The first violations found over the generated inputs, or [] when none is. */
function firstViolations(factory: DecoderFactory, from: Corpus = corpus): readonly string[] {
  for (let index = 0; index < INPUTS; index++) {
    const input = inputAt(SEED, index, from);
    const result = runCase(input.bytes, input.profile.limits, [{ name: 'split', lengths: input.chunks }], factory);
    if (result.violations.length > 0) return result.violations;
  }
  return [];
}

/** Forwards everything to a real decoder; subclasses break one thing. */
class Wrapped implements DecoderLike {
  protected readonly inner: Decoder;

  constructor(handlers: DecoderHandlers, options: DecoderOptions) {
    this.inner = new Decoder(handlers, options);
  }

  get consumed(): number {
    return this.inner.consumed;
  }

  get buffered(): number {
    return this.inner.buffered;
  }

  get idle(): boolean {
    return this.inner.idle;
  }

  push(chunk: Uint8Array): void {
    this.inner.push(chunk);
  }
}

function withHandlers(wrap: (handlers: DecoderHandlers) => DecoderHandlers): DecoderFactory {
  return (handlers, options) => new Decoder(wrap(handlers), options);
}

function rethrowing(change: (err: ProtocolError) => ProtocolError): DecoderFactory {
  return (handlers, options) =>
    new (class extends Wrapped {
      override push(chunk: Uint8Array): void {
        try {
          this.inner.push(chunk);
        } catch (err) {
          throw err instanceof ProtocolError ? change(err) : err;
        }
      }
    })(handlers, options);
}

const BROKEN: readonly (readonly [string, DecoderFactory, RegExp])[] = [
  [
    'counts one byte too many as consumed',
    (h, o) =>
      new (class extends Wrapped {
        override get consumed(): number {
          return this.inner.consumed > 0 ? this.inner.consumed + 1 : 0;
        }
      })(h, o),
    /consumed .* != pushed|consumed \d+, expected/,
  ],
  [
    'reports one byte too many as buffered',
    (h, o) =>
      new (class extends Wrapped {
        override get buffered(): number {
          return this.inner.buffered > 0 ? this.inner.buffered + 1 : 0;
        }
      })(h, o),
    /consumed \d+ \+ buffered \d+ != pushed/,
  ],
  [
    'drops the second packet',
    withHandlers((h) => {
      let seen = 0;
      return { text: (line) => h.text(line), packet: (p) => (++seen === 2 ? undefined : h.packet(p)) };
    }),
    /frames emitted, expected|expected a packet/,
  ],
  [
    'changes a byte of an argument',
    withHandlers((h) => ({
      text: (line) => h.text(line),
      packet: (p: Packet) => {
        const args = p.args.map((arg, i) => (i === 0 && arg.length > 0 ? Uint8Array.from(arg, (b, j) => (j === 0 ? b ^ 1 : b)) : arg));
        h.packet({ ...p, args });
      },
    })),
    /argument 0 differs/,
  ],
  [
    'drops a CR from inside lines',
    withHandlers((h) => ({ packet: (p) => h.packet(p), text: (line) => h.text(line.replace('\r', '')) })),
    /line .*, expected/,
  ],
  [
    'throws a TypeError on byte 0x7f',
    (h, o) =>
      new (class extends Wrapped {
        override push(chunk: Uint8Array): void {
          if (chunk.includes(0x7f)) throw new TypeError('cannot read properties of undefined');
          this.inner.push(chunk);
        }
      })(h, o),
    /threw a non-ProtocolError: TypeError/,
  ],
  [
    'swallows its errors',
    (h, o) =>
      new (class extends Wrapped {
        override push(chunk: Uint8Array): void {
          try {
            this.inner.push(chunk);
          } catch {
            // lost
          }
        }
      })(h, o),
    /no [A-Z_]+ for the frame at \d+/,
  ],
  ['reports an error one byte late', rethrowing((e) => new ProtocolError(e.code, e.message, { offset: (e.offset ?? 0) + 1 })), /offset \d+, expected \d+/],
  ['calls every error BAD_MAGIC', rethrowing((e) => new ProtocolError('BAD_MAGIC', e.message, { offset: e.offset ?? 0 })), /BAD_MAGIC after \d+ bytes, expected [A-Z_]+/],
  [
    'ignores the limits',
    (h, o) => new Decoder(h, { ...o, maxPacketSize: 0xffffffff, maxLineLength: Number.MAX_SAFE_INTEGER }),
    /no (PACKET_TOO_LARGE|LINE_TOO_LONG)|over the limit/,
  ],
  [
    'takes input again after an error',
    (h, o) =>
      new (class extends Wrapped {
        private failed = false;
        override push(chunk: Uint8Array): void {
          if (this.failed) return;
          try {
            this.inner.push(chunk);
          } catch (err) {
            this.failed = true;
            throw err;
          }
        }
      })(h, o),
    /took more input after its error/,
  ],
];

describe('the fuzz checks catch broken decoders', () => {
  test('the real decoder passes the same inputs', () => {
    expect(firstViolations(realDecoder)).toEqual([]);
  });

  test('with zero captures the corpus is encoder-made streams, and the run still works', () => {
    const encoderOnly = corpusFrom([]);
    expect(encoderOnly.captureCount).toBe(0);
    expect(encoderOnly.seeds.length).toBeGreaterThan(0);
    expect(firstViolations(realDecoder, encoderOnly)).toEqual([]);
  });

  test.each(BROKEN)('a decoder that %s', (_name, factory, complaint) => {
    const violations = firstViolations(factory);
    expect(violations.length).toBeGreaterThan(0);
    expect(violations.join('\n')).toMatch(complaint);
  });
});
