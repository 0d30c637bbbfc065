/**
 * The pieces of registry authentication that do no I/O: reading `WWW-Authenticate` challenges,
 * building the token request, reading token answers, and the cache of what to send where.
 */
import type { Credential } from './credentials.js';

/** One challenge of a `WWW-Authenticate` header: its scheme (lowercase) and parameters (names lowercase). */
export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

const TOKEN = /[!#$%&'*+.^_`|~0-9A-Za-z-]+/y;

/** Parses a `WWW-Authenticate` header, which may hold several challenges (`Bearer realm="...",scope="..."`, `Basic realm="x"`). */
export function parseWwwAuthenticate(header: string): Challenge[] {
  const out: Challenge[] = [];
  let pos = 0;
  const skip = (chars: RegExp): void => {
    while (pos < header.length && chars.test(header[pos]!)) pos++;
  };
  const token = (): string | null => {
    TOKEN.lastIndex = pos;
    const m = TOKEN.exec(header);
    if (!m) return null;
    pos += m[0].length;
    return m[0];
  };
  const quoted = (): string => {
    let v = '';
    pos++;
    while (pos < header.length && header[pos] !== '"') {
      if (header[pos] === '\\' && pos + 1 < header.length) pos++;
      v += header[pos++];
    }
    pos++;
    return v;
  };
  const bare = (): string => {
    const start = pos;
    skip(/[^\s,]/);
    return header.slice(start, pos);
  };
  let current: Challenge | null = null;
  while (pos < header.length) {
    skip(/[\s,]/);
    const start = pos;
    const name = token();
    if (name === null) {
      pos++;
      continue;
    }
    skip(/[ \t]/);
    if (current && header[pos] === '=' && header[pos + 1] !== '=') {
      pos++;
      skip(/[ \t]/);
      current.params[name.toLowerCase()] = header[pos] === '"' ? quoted() : bare();
      continue;
    }
    if (current && header[pos] === '=') {
      pos = start;
      skip(/[^,]/);
      continue;
    }
    current = { scheme: name.toLowerCase(), params: {} };
    out.push(current);
  }
  return out;
}

/** The `Authorization` value of HTTP basic auth. */
export function basicAuthorization(c: Credential): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`, 'utf8').toString('base64')}`;
}

/** The scope a pull of a repository needs. */
export function pullScope(repository: string): string {
  return `repository:${repository}:pull`;
}

/** The token request URL: the realm with the service and scope the challenge named (the pull scope when it named none). */
export function tokenUrl(challenge: Challenge, repository: string): URL {
  const url = new URL(challenge.params.realm!);
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  for (const s of (challenge.params.scope ?? pullScope(repository)).split(' ').filter(Boolean)) url.searchParams.append('scope', s);
  return url;
}

/** A bearer token and how long it is good for (seconds; the spec's default is 60). */
export interface Token {
  token: string;
  expiresInSeconds: number;
}

/** Reads a token server's answer: `token` or `access_token`, and `expires_in`. Throws why not. */
export function parseTokenResponse(body: Buffer): Token {
  let doc: unknown;
  try {
    doc = JSON.parse(body.toString('utf8'));
  } catch (e) {
    throw new Error(`the answer is not JSON (${(e as Error).message})`);
  }
  if (doc === null || typeof doc !== 'object') throw new Error('the answer is not a JSON object');
  const d = doc as Record<string, unknown>;
  const token = typeof d.token === 'string' && d.token !== '' ? d.token : d.access_token;
  if (typeof token !== 'string' || token === '') throw new Error('the answer has no "token" nor "access_token"');
  const expires = typeof d.expires_in === 'number' && d.expires_in > 0 ? d.expires_in : 60;
  return { token, expiresInSeconds: expires };
}

/**
 * What to send to a registry host for a repository: a bearer token (cached per host and scope
 * until shortly before it expires) or basic credentials (once the host asked for them).
 */
export class AuthCache {
  private readonly tokens = new Map<string, { authorization: string; expiresAt: number }>();
  private readonly basic = new Map<string, string>();

  constructor(private readonly now: () => number = Date.now) {}

  /** The Authorization header to send, if any. */
  authorization(host: string, repository: string): string | undefined {
    const key = `${host} ${pullScope(repository)}`;
    const t = this.tokens.get(key);
    if (t && t.expiresAt > this.now()) return t.authorization;
    if (t) this.tokens.delete(key);
    return this.basic.get(host);
  }

  /** Remembers a token for a host and repository. */
  putToken(host: string, repository: string, token: Token): void {
    const seconds = token.expiresInSeconds;
    const life = Math.max(seconds - 10, seconds / 2) * 1000;
    this.tokens.set(`${host} ${pullScope(repository)}`, { authorization: `Bearer ${token.token}`, expiresAt: this.now() + life });
  }

  /** Remembers that a host takes basic credentials. */
  putBasic(host: string, credential: Credential): void {
    this.basic.set(host, basicAuthorization(credential));
  }

  /** Forgets what was sent to a host for a repository (it was refused). */
  forget(host: string, repository: string): void {
    this.tokens.delete(`${host} ${pullScope(repository)}`);
    this.basic.delete(host);
  }
}
