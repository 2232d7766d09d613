/** Fuzz: junk rule files only ever give AclError; the matcher agrees with a reference built on RegExp. */
import { expect, test } from 'bun:test';
import fc from 'fast-check';
import { AclError, compileGlob, globMatches, parseAccessRules } from '../../../../src/protocol/server/acl/index.ts';

/** The reference: a glob is a RegExp where `*` is `.*` and `?` is `.`, everything else literal. */
function reference(pattern: string, text: string): boolean {
  const source = [...pattern].map((c) => (c === '*' ? '[\\s\\S]*' : c === '?' ? '[\\s\\S]' : c.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))).join('');
  return new RegExp(`^${source}$`, 'u').test(text);
}

// A small alphabet makes matches common; the wildcards and a regex metachar keep it honest.
const alphabet = fc.constantFrom('a', 'b', '-', ':', '.', '*', '?', '\\', '[', 'é');
const name = fc.array(fc.constantFrom('a', 'b', '-', ':', '.', '*', '?', '\\', '[', 'é'), { maxLength: 12 }).map((cs) => cs.join(''));
const pattern = fc.array(alphabet, { maxLength: 8 }).map((cs) => cs.join(''));

test('fuzz: the glob matcher agrees with the RegExp reference on 100,000 random patterns and names', () => {
  fc.assert(
    fc.property(pattern, name, (p, n) => {
      const expected = reference(p, n);
      expect(globMatches(p, n)).toBe(expected);
      expect(compileGlob(p)(n)).toBe(expected);
    }),
    { numRuns: 100_000 },
  );
});

test('fuzz: junk rule files give AclError or rules, never anything else (20,000 inputs)', () => {
  const fragments = fc.constantFrom('[[rule]]\n', 'cn = "a*"\n', 'register = ["x", 1]\n', 'submit = [', ']\n', 'admin = ["read"]\n', 'admin = "all"\n', '[rule]\n', '= \n', '"\\u0000"', 'cn = 3\n', '\0', '\n');
  const junk = fc.oneof(fc.string({ maxLength: 200 }), fc.array(fragments, { maxLength: 12 }).map((f) => f.join('')));
  fc.assert(
    fc.property(junk, (text) => {
      try {
        const rules = parseAccessRules(text, 'junk.toml');
        for (const rule of rules.rules) expect(typeof rule.cn).toBe('string');
      } catch (err) {
        expect(err).toBeInstanceOf(AclError);
        expect((err as AclError).message.startsWith('junk.toml')).toBe(true);
      }
    }),
    { numRuns: 20_000 },
  );
});
