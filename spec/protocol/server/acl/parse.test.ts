import { expect, test } from 'bun:test';
import { AclError, parseAccessRules } from '../../../../src/protocol/server/acl/index.ts';

const FILE = '/etc/nodepool-builder/acl.toml';

function refusal(text: string): AclError {
  try {
    parseAccessRules(text, FILE);
  } catch (err) {
    if (err instanceof AclError) return err;
    throw err;
  }
  throw new Error('the rules were accepted');
}

test('the fleet rules parse: patterns kept, admin shorthands expanded', () => {
  const rules = parseAccessRules(
    `
[[rule]]
cn = "builder-*"
register = ["image-*", "provider-image-*"]

[[rule]]
cn = "scheduler"
submit = ["image-*", "provider-image-*"]
admin = ["read"]

[[rule]]
cn = "operator-?"
admin = ["status", "cancel job"]
`,
    FILE,
  );
  expect(rules.source).toBe(FILE);
  expect(rules.rules.map((r) => [r.cn, r.register, r.submit, [...r.admin]])).toEqual([
    ['builder-*', ['image-*', 'provider-image-*'], [], []],
    ['scheduler', [], ['image-*', 'provider-image-*'], ['status', 'workers', 'version', 'show jobs']],
    ['operator-?', [], [], ['status', 'cancel job']],
  ]);
});

test('an empty file is valid and grants nothing', () => {
  expect(parseAccessRules('', FILE).rules).toEqual([]);
});

test.each([
  ['not TOML', 'cn = ', 'ACL_SYNTAX', /acl\.toml: line 1, column \d+: not valid TOML/],
  ['an unknown top-level key', 'rules = []', 'ACL_INVALID', /acl\.toml: rules: unknown key/],
  ['rule as one table', '[rule]\ncn = "a"', 'ACL_INVALID', /rule: expected \[\[rule\]\] tables/],
  ['a rule without cn', '[[rule]]\nregister = ["a"]', 'ACL_INVALID', /rule\[0\]\.cn: expected the certificate name/],
  ['a typo in a key', '[[rule]]\ncn = "a"\nsubmits = ["x"]', 'ACL_INVALID', /rule\[0\]\.submits: unknown key/],
  ['a pattern that is not a string', '[[rule]]\ncn = "a"\nregister = [1]', 'ACL_INVALID', /rule\[0\] \(cn "a"\)\.register\[0\]: expected function pattern/],
  ['register as a string', '[[rule]]\ncn = "a"\nregister = "image-*"', 'ACL_INVALID', /rule\[0\] \(cn "a"\)\.register: expected a list/],
  ['an unknown admin command', '[[rule]]\ncn = "a"\nadmin = ["status", "shutdown now"]', 'ACL_INVALID', /rule\[0\] \(cn "a"\)\.admin\[1\]: unknown admin command "shutdown now"/],
  ['an empty pattern', '[[rule]]\ncn = "a"\nsubmit = [""]', 'ACL_INVALID', /submit\[0\]: expected function pattern \(a non-empty string\)/],
  ['a cn too long for a certificate', `[[rule]]\ncn = "${'a'.repeat(65)}"`, 'ACL_INVALID', /rule\[0\]\.cn: longer than 64/],
])('%s is refused with a typed error naming file, rule and key', (_what, text, code, message) => {
  const err = refusal(text);
  expect(err.code).toBe(code as AclError['code']);
  expect(err.file).toBe(FILE);
  expect(err.message).toMatch(message);
});
