import type { CloudAuth, DomainRef, NamedRef, Scope } from './clouds.ts';

type KeystoneAuth = Exclude<CloudAuth, { type: 'none' }>;
type Json = Record<string, unknown>;

function domainJson(domain: DomainRef): Json {
  return domain.id ? { id: domain.id } : { name: domain.name };
}

function refJson(ref: NamedRef): Json {
  if (ref.id) return { id: ref.id };
  return { name: ref.name, ...(ref.domain ? { domain: domainJson(ref.domain) } : {}) };
}

function scopeJson(scope: Scope): Json {
  switch (scope.kind) {
    case 'project':
      return { project: refJson(scope.project) };
    case 'domain':
      return { domain: domainJson(scope.domain) };
    case 'system':
      return { system: { all: true } };
  }
}

/**
 * The body of POST /v3/auth/tokens (Keystone v3 API). It holds the secret: build it right
 * before sending, and never log it.
 */
export function authRequestBody(auth: KeystoneAuth): Json {
  if (auth.type === 'password') {
    return {
      auth: {
        identity: { methods: ['password'], password: { user: { ...refJson(auth.user), password: auth.password.reveal() } } },
        scope: scopeJson(auth.scope),
      },
    };
  }
  // An application credential carries its own scope: a scope in the request is an error.
  const credential = 'id' in auth.credential ? { id: auth.credential.id } : { name: auth.credential.name, user: refJson(auth.credential.user) };
  return {
    auth: { identity: { methods: ['application_credential'], application_credential: { ...credential, secret: auth.secret.reveal() } } },
  };
}

/** Who is asking, for error messages: never the secret. */
export function describeCredentials(auth: KeystoneAuth): string {
  const who = (ref: NamedRef) => (ref.id ? `id ${ref.id}` : `"${ref.name}"`);
  if (auth.type === 'password') return `the password of user ${who(auth.user)}`;
  return 'id' in auth.credential
    ? `application credential ${auth.credential.id}`
    : `application credential "${auth.credential.name}" of user ${who(auth.credential.user)}`;
}
