/**
 * The requests of one registry client: the scheme settled per host (https, or plain HTTP where
 * allowed and the server does not speak TLS), what to authenticate with per host and repository,
 * retries with backoff, and a time bound on every request.
 */
import { STATUS_CODES } from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { ImageError, type ImageErrorCode } from '../errors.js';
import { MAX_JSON_BYTES } from '../layout.js';
import { AuthCache, basicAuthorization, parseTokenResponse, parseWwwAuthenticate, tokenUrl, type Challenge, type Token } from './auth.js';
import type { Credential, CredentialStore } from './credentials.js';
import { describeNetworkError, isNetworkError, isNotTlsError, isRetryableNetworkError, registryErrorText } from './errors.js';
import { codedError, MAX_REDIRECTS, safeUrl, type HttpResponse, type Transport } from './transport.js';

/** One place a repository is pulled from: a mirror or the registry, and whose credentials it takes. */
export interface Endpoint {
  host: string;
  /** The key of its credentials: the registry's name (`docker.io`) or the mirror's host. */
  credentialKey: string;
}

/** What a request is about, for messages and auth. */
export interface RequestContext {
  /** The reference as text. */
  image: string;
  repository: string;
  endpoint: Endpoint;
}

/** Where a request goes: a path on the endpoint (scheme chosen by the rules) or an absolute URL (a token realm). */
export type Target = { path: string } | { url: URL };

/** How one logical request is made. */
export interface ExchangeOptions {
  headers?: Record<string, string>;
  /** Send and renew the endpoint's credentials (false for token realms). */
  auth: boolean;
  /** Stops the retries (and refuses a late answer) when aborted. */
  signal?: AbortSignal;
  /** Said after the request in messages ("resuming after N of M bytes"). */
  context?: string;
}

/** The settings of a session (RegistryOptions' transport part). */
export interface SessionOptions {
  transport: Transport;
  credentials: CredentialStore;
  insecure: string[];
  timeoutMs: number;
  attempts: number;
  backoffMs: number;
  maxRetryAfterMs: number;
}

const ERROR_BODY_BYTES = 4096;
const USER_AGENT = 'pocker';

/** `host[:port]` without a scheme or trailing slash. */
export function stripScheme(host: string): string {
  return host.replace(/^https?:\/\//i, '').replace(/\/+$/, '');
}

/** Whether a host may be spoken to in plain HTTP: localhost, 127.0.0.0/8, ::1, or listed as insecure (with or without its port). */
export function plainHttpAllowed(host: string, insecure: readonly string[] = []): boolean {
  const h = host.toLowerCase();
  const hostname = h.startsWith('[') ? h.slice(0, h.indexOf(']') + 1) : h.replace(/:\d+$/, '');
  if (hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname)) return true;
  return insecure.some((i) => {
    const entry = stripScheme(i).toLowerCase();
    return entry === h || entry === hostname;
  });
}

/** An ImageError naming the reference and registry: "image REF: registry HOST: WHY". */
export function registryError(code: ImageErrorCode, ctx: RequestContext, why: string, digest?: string, cause?: unknown): ImageError {
  return new ImageError(code, `image ${ctx.image}: registry ${ctx.endpoint.host}: ${why}`, {
    image: ctx.image,
    ...(digest !== undefined && { digest }),
    ...(cause !== undefined && { cause }),
  });
}

/** Requests to registries with their schemes, auth, retries and time bounds. */
export class RegistrySession {
  private readonly auth = new AuthCache();
  /** Hosts whose scheme is settled (https confirmed, or http after a plain-HTTP answer). */
  private readonly schemes = new Map<string, 'http' | 'https'>();

  constructor(readonly opts: SessionOptions) {}

  /** The wait before attempt `failures + 1`: backoffMs doubling. */
  backoff(failures: number): number {
    return this.opts.backoffMs * 2 ** (failures - 1);
  }

  /**
   * One logical GET with its retries: connection failures, timeouts, 5xx and 429 are retried with
   * backoff up to `attempts` times; a 401 is answered once by the auth flow; 403 (REGISTRY_AUTH),
   * 404 (REGISTRY_NOT_FOUND) and other statuses (REGISTRY_PROTOCOL) are final. `consume` reads the
   * 2xx answer; a network failure while it reads is retried too.
   */
  async exchange<T>(ctx: RequestContext, target: Target, opts: ExchangeOptions, consume: (res: HttpResponse) => Promise<T>): Promise<T> {
    const host = ctx.endpoint.host;
    let failures = 0;
    let authenticated = false;
    for (;;) {
      const scheme = this.schemes.get(host) ?? 'https';
      const url = 'url' in target ? target.url.href : `${scheme}://${host}${target.path}`;
      const what = `${'url' in target ? `token server GET ${safeUrl(target.url)}` : `GET ${target.path}`}${opts.context ? ` (${opts.context})` : ''}`;
      const headers: Record<string, string> = { 'user-agent': USER_AGENT, ...opts.headers };
      const authorization = opts.auth ? this.auth.authorization(host, ctx.repository) : undefined;
      if (authorization) headers.authorization = authorization;

      const retry = async (why: string, cause: unknown, waitMs?: number): Promise<void> => {
        failures++;
        if (failures >= this.opts.attempts) {
          throw registryError('REGISTRY_UNREACHABLE', ctx, `${what}: ${why}, after ${failures} attempts`, undefined, cause);
        }
        await sleep(waitMs ?? this.backoff(failures), undefined, opts.signal && { signal: opts.signal });
      };

      let res: HttpResponse;
      try {
        res = await this.send(url, headers);
      } catch (e) {
        if (opts.signal?.aborted || !isNetworkError(e)) throw e;
        if (isNotTlsError(e)) {
          if (!('url' in target) && !this.schemes.has(host) && plainHttpAllowed(host, this.opts.insecure)) {
            this.schemes.set(host, 'http');
            continue;
          }
          throw registryError(
            'REGISTRY_UNREACHABLE',
            ctx,
            `${what}: ${describeNetworkError(e)}; the server does not speak TLS: if it is a plain-HTTP registry, list ${host} as insecure`,
            undefined,
            e,
          );
        }
        if (!isRetryableNetworkError(e))
          throw registryError('REGISTRY_UNREACHABLE', ctx, `${what}: ${describeNetworkError(e)}`, undefined, e);
        await retry(describeNetworkError(e), e);
        continue;
      }
      if (!('url' in target)) this.schemes.set(host, scheme);
      if (opts.signal?.aborted) {
        res.body.destroy();
        throw codedError('ABORT_ERR', 'aborted');
      }

      const status = res.status;
      if (status >= 200 && status < 300) {
        try {
          return await consume(res);
        } catch (e) {
          res.body.destroy();
          if (e instanceof ImageError || opts.signal?.aborted || !isNetworkError(e)) throw e;
          if (!isRetryableNetworkError(e))
            throw registryError('REGISTRY_UNREACHABLE', ctx, `${what}: reading the answer: ${describeNetworkError(e)}`, undefined, e);
          await retry(`reading the answer: ${describeNetworkError(e)}`, e);
          continue;
        }
      }
      const detail = `${`${status} ${STATUS_CODES[status] ?? ''}`.trim()}${await this.errorText(res)}`;
      if (status === 401 && opts.auth && !authenticated) {
        authenticated = true;
        this.auth.forget(host, ctx.repository);
        await this.authenticate(ctx, res.headers['www-authenticate'], detail);
        continue;
      }
      if (status === 401 || status === 403) throw this.authError(ctx, `${what}: ${detail}`, headers.authorization !== undefined);
      if (status === 404) throw registryError('REGISTRY_NOT_FOUND', ctx, `${what}: ${detail}`);
      if (status === 429 || status >= 500) {
        await retry(detail, undefined, status === 429 ? this.retryAfter(res.headers['retry-after']) : undefined);
        continue;
      }
      throw registryError('REGISTRY_PROTOCOL', ctx, `${what}: unexpected status ${detail}`);
    }
  }

  /** Reads a JSON answer of at most MAX_JSON_BYTES (REGISTRY_PROTOCOL when larger). */
  async readJson(ctx: RequestContext, res: HttpResponse, what: string): Promise<Buffer> {
    const announced = Number(res.headers['content-length']);
    if (announced > MAX_JSON_BYTES) {
      res.body.destroy();
      throw registryError('REGISTRY_PROTOCOL', ctx, `${what} is ${announced} bytes, more than ${MAX_JSON_BYTES}`);
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of res.body as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_JSON_BYTES) {
        res.body.destroy();
        throw registryError('REGISTRY_PROTOCOL', ctx, `${what} is more than ${MAX_JSON_BYTES} bytes`);
      }
      chunks.push(chunk);
    }
    return Buffer.concat(chunks);
  }

  /** Answers a 401: fetches a bearer token from the challenge's realm, or takes basic credentials. */
  private async authenticate(ctx: RequestContext, header: string | undefined, detail: string): Promise<void> {
    const challenges = parseWwwAuthenticate(header ?? '');
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    const basic = challenges.find((c) => c.scheme === 'basic');
    const credential = this.opts.credentials.get(ctx.endpoint.credentialKey, ctx.repository);
    if (bearer) {
      this.auth.putToken(ctx.endpoint.host, ctx.repository, await this.fetchToken(ctx, bearer, credential));
      return;
    }
    if (basic) {
      if (!credential) throw this.authError(ctx, `the registry asks for a user name and password (${detail})`, false);
      this.auth.putBasic(ctx.endpoint.host, credential);
      return;
    }
    throw this.authError(ctx, `${detail} with no usable challenge (WWW-Authenticate: ${JSON.stringify(header ?? null)})`, false);
  }

  /** GETs a token from the realm for the challenge's service and scope, with basic credentials when there are some. */
  private async fetchToken(ctx: RequestContext, challenge: Challenge, credential: Credential | null): Promise<Token> {
    let url: URL;
    try {
      url = tokenUrl(challenge, ctx.repository);
    } catch (e) {
      throw registryError('REGISTRY_PROTOCOL', ctx, `the token realm ${JSON.stringify(challenge.params.realm)} is not a URL`, undefined, e);
    }
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && plainHttpAllowed(url.host, this.opts.insecure))) {
      throw registryError(
        'REGISTRY_PROTOCOL',
        ctx,
        `the token realm ${safeUrl(url)} is not https (and ${url.host} is not an insecure registry)`,
      );
    }
    const headers: Record<string, string> = { accept: 'application/json' };
    if (credential) headers.authorization = basicAuthorization(credential);
    return this.exchange(ctx, { url }, { auth: false, headers }, async (res) => {
      const body = await this.readJson(ctx, res, 'token answer');
      try {
        return parseTokenResponse(body);
      } catch (e) {
        throw registryError('REGISTRY_PROTOCOL', ctx, `token server ${safeUrl(url)}: ${(e as Error).message}`, undefined, e);
      }
    });
  }

  /** The request, with a guard in case the transport does not bound it itself. */
  private send(url: string, headers: Record<string, string>): Promise<HttpResponse> {
    const { transport, timeoutMs } = this.opts;
    const guardMs = timeoutMs * (MAX_REDIRECTS + 1) + 100;
    return new Promise((resolve, reject) => {
      let late = false;
      const guard = setTimeout(() => {
        late = true;
        reject(codedError('ETIMEDOUT', `GET ${safeUrl(url)}: no answer within ${guardMs} ms (timed out)`));
      }, guardMs);
      transport.request({ method: 'GET', url, headers, timeoutMs }).then(
        (res) => {
          clearTimeout(guard);
          if (late) res.body.destroy();
          else resolve(res);
        },
        (e: unknown) => {
          clearTimeout(guard);
          reject(e);
        },
      );
    });
  }

  /** The registry's own words from an error answer (bounded in size and time; never throws). */
  private async errorText(res: HttpResponse): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    const timer = setTimeout(() => res.body.destroy(), Math.min(this.opts.timeoutMs, 2000));
    try {
      for await (const chunk of res.body as AsyncIterable<Buffer>) {
        chunks.push(chunk);
        size += chunk.length;
        if (size >= ERROR_BODY_BYTES) break;
      }
    } catch {
    } finally {
      clearTimeout(timer);
      res.body.destroy();
    }
    return registryErrorText(Buffer.concat(chunks).subarray(0, ERROR_BODY_BYTES));
  }

  /** A 429's Retry-After (seconds or an HTTP date) in ms, capped; undefined to use the backoff. */
  private retryAfter(header: string | undefined): number | undefined {
    if (header === undefined) return undefined;
    const ms = /^\s*\d+\s*$/.test(header) ? Number(header) * 1000 : Date.parse(header) - Date.now();
    if (!Number.isFinite(ms)) return undefined;
    return Math.min(Math.max(ms, 0), this.opts.maxRetryAfterMs);
  }

  /** REGISTRY_AUTH saying whether credentials were sent and where they came from (never the secret). */
  private authError(ctx: RequestContext, why: string, sentCredentials: boolean): ImageError {
    const { credentials } = this.opts;
    const key = ctx.endpoint.credentialKey;
    const credential = credentials.get(key, ctx.repository);
    const source = credentials.source(key, ctx.repository);
    const whose = credential
      ? `${sentCredentials ? 'with' : 'without sending'} the credentials of user ${JSON.stringify(credential.username)} from ${source ?? 'the credential store'}`
      : `anonymously (no credentials for ${key}${credentials.files?.length ? ` in ${credentials.files.join(', ')}` : ''})`;
    return registryError('REGISTRY_AUTH', ctx, `access refused ${whose}: ${why}`);
  }
}
