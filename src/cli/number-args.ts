import { MAX_TIMER_MS } from '../util/timers.ts';
import { UsageError } from './cli-error.ts';

/** A whole number in [min, max], written as plain decimal digits ("" and "x" are refused, not read as 0 or NaN). */
export function integerArg(flag: string, value: string, min: number, max: number): number {
  const number = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max) {
    throw new UsageError(`${flag} takes a whole number from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** Seconds (fractions allowed) from 0 to what a timer can wait, in milliseconds. */
export function secondsArg(flag: string, value: string): number {
  const maxSeconds = Math.floor(MAX_TIMER_MS / 1000);
  const seconds = /^\d+(\.\d+)?$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!(seconds >= 0 && seconds <= maxSeconds)) {
    throw new UsageError(`${flag} takes seconds from 0 to ${maxSeconds}, got ${JSON.stringify(value)}`);
  }
  return Math.round(seconds * 1000);
}
