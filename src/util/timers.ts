/**
 * The longest delay setTimeout honours: 2^31 − 1 ms (about 24.8 days). Node and Bun turn a
 * longer one into 1 ms, so a long timeout would fire at once.
 */
export const MAX_TIMER_MS = 0x7fffffff;

export interface LongTimer {
  cancel(): void;
}

/**
 * setTimeout for any delay: past MAX_TIMER_MS it re-arms in steps. Infinity (or any delay
 * too large to be a date) never fires.
 */
export function setLongTimeout(fire: () => void, delayMs: number): LongTimer {
  let timer: ReturnType<typeof setTimeout> | undefined;
  let cancelled = false;
  const due = Date.now() + Math.max(0, delayMs);
  const arm = (): void => {
    if (cancelled || !Number.isFinite(due)) return;
    const left = due - Date.now();
    timer = left > MAX_TIMER_MS ? setTimeout(arm, MAX_TIMER_MS) : setTimeout(fire, Math.max(0, left));
  };
  arm();
  return {
    cancel() {
      cancelled = true;
      clearTimeout(timer);
    },
  };
}
