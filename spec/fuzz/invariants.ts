/**
 * The invariants every decoder run must keep, whatever the input and however it is chunked.
 * Shared by the fuzz script and the tests. `checkRun` feeds one chunking of one input to a fresh
 * decoder and returns what went wrong (an empty list when nothing did):
 *
 *  - it only emits packets and lines, or throws a ProtocolError; any other exception is a failure;
 *  - it emits exactly the reference decoder's frames, in order, each as soon as it is complete;
 *  - `consumed + buffered` equals the bytes pushed after every push that did not throw;
 *  - `buffered` stays under `maxPacketSize + 12` for a packet (a complete one is never held), and
 *    within `maxLineLength + 1` for a line (the limit counts a line's content, not the "\r" of
 *    its "\r\n");
 *  - a malformed input ends in exactly one ProtocolError, with the reference decoder's code, no
 *    later than its bytes arrived, and with `offset` inside the stream and equal to `consumed`;
 *    after it the decoder refuses input with the same error.
 */
import { type DecoderHandlers, type DecoderOptions, type Packet, Decoder } from '../../src/protocol/codec/decoder.ts';
import { type ProtocolErrorCode, ProtocolError } from '../../src/protocol/codec/errors.ts';
import { HEADER_SIZE } from '../../src/protocol/codec/packets.ts';
import type { Expected, Frame } from './oracle.ts';
import type { Limits } from './profiles.ts';

/** What the checks need of a decoder; tests hand in broken ones to prove the checks can fail. */
export interface DecoderLike {
  readonly consumed: number;
  readonly buffered: number;
  readonly idle: boolean;
  push(chunk: Uint8Array): void;
}

export type DecoderFactory = (handlers: DecoderHandlers, options: DecoderOptions) => DecoderLike;

export const realDecoder: DecoderFactory = (handlers, options) => new Decoder(handlers, options);

export interface RunResult {
  /** Empty when every invariant held. */
  readonly violations: readonly string[];
  readonly packets: number;
  readonly lines: number;
  /** The error the run ended in, or undefined for a clean end. */
  readonly error: ProtocolErrorCode | undefined;
}

/** More than this per run only repeats the first ones. */
const MAX_VIOLATIONS = 8;

class Recorder {
  readonly violations: string[] = [];

  add(message: string): void {
    if (this.violations.length < MAX_VIOLATIONS) this.violations.push(message);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function describeError(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return `non-Error value ${String(err)}`;
}

/** Checks each emitted packet or line against the next reference frame. */
class FrameMatcher implements DecoderHandlers {
  next = 0;
  packets = 0;
  lines = 0;

  constructor(
    private readonly input: Uint8Array,
    private readonly frames: readonly Frame[],
    private readonly recorder: Recorder,
  ) {}

  packet(packet: Packet): void {
    this.packets++;
    const frame = this.take('packet');
    if (frame?.kind !== 'packet') return;
    if (packet.magic !== frame.magic || packet.type !== frame.type || packet.args.length !== frame.args.length) {
      this.recorder.add(
        `frame ${this.next - 1} at ${frame.start}: got ${packet.magic} type ${packet.type} with ${packet.args.length} args, ` +
          `expected ${frame.magic} type ${frame.type} with ${frame.args.length}`,
      );
      return;
    }
    for (let i = 0; i < frame.args.length; i++) {
      const [start, end] = frame.args[i]!;
      if (!sameBytes(packet.args[i]!, this.input.subarray(start, end))) {
        this.recorder.add(`frame ${this.next - 1} at ${frame.start}: argument ${i} differs from bytes [${start}, ${end})`);
      }
    }
  }

  frameCount(): number {
    return this.frames.length;
  }

  text(line: string): void {
    this.lines++;
    const frame = this.take('line');
    if (frame?.kind === 'line' && line !== frame.text) {
      this.recorder.add(`frame ${this.next - 1} at ${frame.start}: line ${JSON.stringify(line)}, expected ${JSON.stringify(frame.text)}`);
    }
  }

  private take(kind: Frame['kind']): Frame | undefined {
    const frame = this.frames[this.next++];
    if (frame === undefined) {
      this.recorder.add(`emitted a ${kind} beyond the ${this.frames.length} frames the stream holds`);
    } else if (frame.kind !== kind) {
      this.recorder.add(`frame ${this.next - 1} at ${frame.start}: emitted a ${kind}, expected a ${frame.kind}`);
    }
    return frame;
  }
}

/** How many reference frames end within the first `pushed` bytes, and where the last one ends. */
class FrameCursor {
  count = 0;
  end = 0;

  constructor(private readonly frames: readonly Frame[]) {}

  advanceTo(pushed: number): void {
    for (let frame = this.frames[this.count]; frame !== undefined && frame.end <= pushed; frame = this.frames[this.count]) {
      this.count++;
      this.end = frame.end;
    }
  }
}

/**
 * Feeds `input` to a fresh decoder in chunks of the given lengths (their sum must be the input
 * length) and checks every invariant against the reference decoder's `expected` result.
 */
export function checkRun(
  input: Uint8Array,
  chunkLengths: readonly number[],
  limits: Limits,
  expected: Expected,
  factory: DecoderFactory = realDecoder,
): RunResult {
  let total = 0;
  for (const length of chunkLengths) total += length;
  if (total !== input.length) throw new RangeError(`chunk lengths sum to ${total}, not the input's ${input.length}`);
  const recorder = new Recorder();
  const matcher = new FrameMatcher(input, expected.frames, recorder);
  const cursor = new FrameCursor(expected.frames);
  const { ending } = expected;
  const decoder = factory(matcher, limits);
  const binaryBound = limits.maxPacketSize + HEADER_SIZE;
  // A line waiting for its "\n" may hold one byte over the limit: the "\r" of a "\r\n".
  const lineBound = limits.maxLineLength + 1;
  let pushed = 0;
  let error: ProtocolError | undefined;

  for (const length of chunkLengths) {
    const chunk = input.subarray(pushed, pushed + length);
    pushed += chunk.length;
    try {
      decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof ProtocolError)) {
        recorder.add(`push ending at ${pushed} threw a non-ProtocolError: ${describeError(err)}`);
        break;
      }
      error = err;
      break;
    }
    cursor.advanceTo(pushed);
    const { consumed, buffered } = decoder;
    if (consumed + buffered !== pushed) recorder.add(`after ${pushed} bytes: consumed ${consumed} + buffered ${buffered} != pushed`);
    if (consumed !== cursor.end) recorder.add(`after ${pushed} bytes: consumed ${consumed}, expected ${cursor.end}`);
    if (matcher.next !== cursor.count) recorder.add(`after ${pushed} bytes: ${matcher.next} frames emitted, expected ${cursor.count}`);
    if (decoder.idle !== (buffered === 0)) recorder.add(`after ${pushed} bytes: idle is ${decoder.idle} with ${buffered} buffered`);
    const textTail = buffered > 0 && input[consumed] !== 0;
    if (textTail ? buffered > lineBound : buffered >= binaryBound) {
      recorder.add(`after ${pushed} bytes: ${buffered} bytes buffered for a ${textTail ? 'line' : 'packet'}, over the limit`);
    }
    if (ending.kind === 'error' && pushed >= ending.latest) {
      recorder.add(`after ${pushed} bytes: no ${ending.code} for the frame at ${ending.offset} (due by ${ending.latest})`);
      break;
    }
    if (recorder.violations.length > 0) break;
  }

  if (error !== undefined) checkError(error, decoder, pushed, ending, matcher, recorder);

  return { violations: recorder.violations, packets: matcher.packets, lines: matcher.lines, error: error?.code };
}

function checkError(
  error: ProtocolError,
  decoder: DecoderLike,
  pushed: number,
  ending: Expected['ending'],
  matcher: FrameMatcher,
  recorder: Recorder,
): void {
  const at = `${error.code} after ${pushed} bytes`;
  if (ending.kind !== 'error') {
    recorder.add(`${at}, but the reference decoder finds no error here (${error.message})`);
  } else {
    if (error.code !== ending.code) recorder.add(`${at}, expected ${ending.code} for the frame at ${ending.offset}`);
    if (error.offset !== ending.offset) recorder.add(`${at}: offset ${error.offset}, expected ${ending.offset}`);
    if (pushed < ending.earliest) recorder.add(`${at}: thrown before the faulty bytes arrived (${ending.earliest})`);
    if (matcher.next !== matcher.frameCount()) {
      recorder.add(`${at}: ${matcher.next} frames emitted before the error, expected all ${matcher.frameCount()}`);
    }
  }
  if (error.offset === undefined || error.offset < 0 || error.offset >= pushed) {
    recorder.add(`${at}: offset ${error.offset} is not inside the ${pushed} bytes pushed`);
  }
  if (error.offset !== decoder.consumed) recorder.add(`${at}: offset ${error.offset} != consumed ${decoder.consumed}`);
  try {
    decoder.push(new Uint8Array(1));
    recorder.add(`${at}: the decoder took more input after its error`);
  } catch (again) {
    if (!(again instanceof ProtocolError) || again.code !== error.code) {
      recorder.add(`${at}: after the error, push threw ${describeError(again)} instead of the same ProtocolError`);
    }
  }
}
