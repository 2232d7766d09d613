/**
 * Glob patterns for certificate names and function names: `*` matches any run of characters
 * (none included), `?` exactly one, every other character itself. There is no escape and no
 * character class, so a pattern means what it shows. Matching never backtracks more than once
 * per `*` (the classic two-pointer walk), so a hostile name cannot make it slow.
 */
export type Matcher = (text: string) => boolean;

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** The fastest test the pattern allows: equality, a prefix, or the general walk. */
export function compileGlob(pattern: string): Matcher {
  if (!hasWildcard(pattern)) return (text) => text === pattern;
  const firstStar = pattern.indexOf('*');
  if (firstStar === pattern.length - 1 && !pattern.includes('?')) {
    const prefix = pattern.slice(0, -1);
    return (text) => text.startsWith(prefix);
  }
  if (/^\*+$/.test(pattern)) return () => true;
  return (text) => globMatches(pattern, text);
}

export function globMatches(pattern: string, text: string): boolean {
  let p = 0;
  let t = 0;
  let starAt = -1;
  let resumeAt = 0;
  while (t < text.length) {
    const c = pattern.charCodeAt(p);
    if (p < pattern.length && c !== 42 && (c === 63 || c === text.charCodeAt(t))) {
      p++;
      t++;
    } else if (c === 42) {
      starAt = p++;
      resumeAt = t;
    } else if (starAt >= 0) {
      // The last `*` takes one more character; everything after it is tried again from there.
      p = starAt + 1;
      t = ++resumeAt;
    } else return false;
  }
  while (pattern.charCodeAt(p) === 42) p++;
  return p === pattern.length;
}
