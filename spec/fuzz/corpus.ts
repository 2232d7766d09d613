/**
 * The seed streams the fuzz run mutates: every captured gearmand session present at run time
 * (both directions), plus encoder-made streams, so the run works with zero captures too.
 */
import { type CaptureStreams, loadCaptureStreams } from './captures-source.ts';
import { expectedDecoding } from './oracle.ts';
import { Prng } from './prng.ts';
import { validStream } from './valid-streams.ts';

export interface Seed {
  readonly name: string;
  readonly bytes: Uint8Array;
  /** Offsets where a frame starts, for windows that begin on a boundary. */
  readonly boundaries: readonly number[];
}

export interface Corpus {
  readonly seeds: readonly Seed[];
  readonly captureCount: number;
}

/** Fixed, so every worker (and a later replay) builds the very same corpus. */
const CORPUS_SEED = 0x6765_6172; // "gear"
const GENERATED_STREAMS = 64;
const PERMISSIVE = { maxPacketSize: 0xffffffff, maxLineLength: Number.MAX_SAFE_INTEGER, expect: 'ANY' } as const;

function seedOf(name: string, bytes: Uint8Array): Seed {
  const boundaries = expectedDecoding(bytes, PERMISSIVE).frames.map((frame) => frame.start);
  return { name, bytes, boundaries: boundaries.length > 0 ? boundaries : [0] };
}

export function corpusFrom(captures: readonly CaptureStreams[]): Corpus {
  const seeds: Seed[] = [];
  for (const capture of captures) {
    if (capture.c2s.length > 0) seeds.push(seedOf(`${capture.name}/c2s`, capture.c2s));
    if (capture.s2c.length > 0) seeds.push(seedOf(`${capture.name}/s2c`, capture.s2c));
  }
  const prng = new Prng(CORPUS_SEED);
  for (let i = 0; i < GENERATED_STREAMS; i++) seeds.push(seedOf(`encoder-${i}`, validStream(prng, prng.between(1, 12))));
  return { seeds, captureCount: captures.length };
}

export async function loadCorpus(): Promise<Corpus> {
  return corpusFrom(await loadCaptureStreams());
}
