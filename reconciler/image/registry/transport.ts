/**
 * The narrow HTTP seam of the registry client: one request in, status, headers and a body stream
 * out. Tests put a fake behind it; NodeTransport is the real one on node:http and node:https.
 */
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type * as Https from 'node:https';
import { createRequire } from 'node:module';
import type { Readable } from 'node:stream';
import type * as Tls from 'node:tls';
import { ImageError } from '../errors.js';

/** One HTTP request. Headers may carry credentials: implementations never log them. */
export interface HttpRequest {
  method: 'GET' | 'HEAD';
  url: string;
  headers: Record<string, string>;
  /** Bound on connecting and on every wait for data (headers or the next body bytes). */
  timeoutMs: number;
}

/** An answer: header names in lowercase, repeated headers joined with ", ". */
export interface HttpResponse {
  status: number;
  headers: Record<string, string>;
  /** Must be consumed or destroyed. Emits an error when the connection fails or idles too long. */
  body: Readable;
}

/** Sends HTTP requests; rejects (with a Node error carrying `code`) when no answer arrives. */
export interface Transport {
  request(req: HttpRequest): Promise<HttpResponse>;
}

/** Most redirects followed for one request. */
export const MAX_REDIRECTS = 5;

const REDIRECTS: readonly number[] = [301, 302, 303, 307, 308];

/** An error with a Node-style code (ETIMEDOUT, ERR_TOO_MANY_REDIRECTS...). */
export function codedError(code: string, message: string): NodeJS.ErrnoException {
  return Object.assign(new Error(message), { code });
}

/** A URL fit for messages: origin and path, without the query (signed blob URLs carry secrets there). */
export function safeUrl(url: string | URL): string {
  try {
    const u = typeof url === 'string' ? new URL(url) : url;
    return `${u.origin}${u.pathname}`;
  } catch {
    return '(invalid URL)';
  }
}

function flattenHeaders(h: http.IncomingHttpHeaders): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(h)) if (v !== undefined) out[k] = Array.isArray(v) ? v.join(', ') : v;
  return out;
}

let httpsModule: typeof Https | null = null;

/** node:https, loaded on first use: a pull from a plain-HTTP registry never pays for TLS. */
function https(): typeof Https {
  return (httpsModule ??= createRequire(import.meta.url)('node:https') as typeof Https);
}

/**
 * HTTP over node:http/https. TLS trusts Node's default CA store plus, per registry host
 * (`host:port` or `host`), an extra CA file read when constructed. Every hop is bounded by the
 * request's timeout for connecting, for the headers and for each wait on body bytes (the socket is
 * destroyed). Redirects are followed up to MAX_REDIRECTS to any host, without the Authorization
 * header once the origin changes. Connections are kept alive and reused; `close()` ends them.
 */
export class NodeTransport implements Transport {
  private readonly httpAgent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  private httpsAgentLazy: Https.Agent | null = null;
  private readonly caAgents = new Map<string, Https.Agent>();

  /** Throws REGISTRY_UNREACHABLE naming the file when a CA file cannot be read. */
  constructor(opts: { caFiles?: Record<string, string> } = {}) {
    for (const [host, file] of Object.entries(opts.caFiles ?? {})) {
      let pem: string;
      try {
        pem = readFileSync(file, 'utf8');
      } catch (e) {
        throw new ImageError(
          'REGISTRY_UNREACHABLE',
          `CA file ${file} for registry ${host} cannot be read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
          { path: file, cause: e },
        );
      }
      this.caAgents.set(
        host.toLowerCase(),
        new (https().Agent)({
          keepAlive: true,
          maxSockets: 16,
          ca: [...(createRequire(import.meta.url)('node:tls') as typeof Tls).rootCertificates, pem],
        }),
      );
    }
  }

  /** Sends the request, following redirects. */
  async request(req: HttpRequest): Promise<HttpResponse> {
    let url = new URL(req.url);
    let headers = { ...req.headers };
    for (let hop = 0; ; hop++) {
      const res = await this.once(req, url, headers);
      const location = res.headers.location;
      if (!REDIRECTS.includes(res.status) || location === undefined) return res;
      res.body.destroy();
      if (hop >= MAX_REDIRECTS)
        throw codedError('ERR_TOO_MANY_REDIRECTS', `${req.method} ${safeUrl(req.url)}: more than ${MAX_REDIRECTS} redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw codedError('ERR_INVALID_REDIRECT', `${req.method} ${safeUrl(url)}: redirect to an invalid location`);
      }
      if (next.protocol !== 'http:' && next.protocol !== 'https:')
        throw codedError('ERR_INVALID_REDIRECT', `${req.method} ${safeUrl(url)}: redirect to a ${next.protocol} URL`);
      if (next.origin !== url.origin) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k.toLowerCase() !== 'authorization'));
      }
      url = next;
    }
  }

  /** Ends the kept-alive connections. */
  close(): void {
    this.httpAgent.destroy();
    this.httpsAgentLazy?.destroy();
    for (const a of this.caAgents.values()) a.destroy();
  }

  private agentFor(url: URL): http.Agent {
    if (url.protocol === 'http:') return this.httpAgent;
    return (
      this.caAgents.get(url.host.toLowerCase()) ??
      this.caAgents.get(url.hostname.toLowerCase()) ??
      (this.httpsAgentLazy ??= new (https().Agent)({ keepAlive: true, maxSockets: 16 }))
    );
  }

  private once(req: HttpRequest, url: URL, headers: Record<string, string>): Promise<HttpResponse> {
    return new Promise((resolve, reject) => {
      const timeout = (): NodeJS.ErrnoException =>
        codedError('ETIMEDOUT', `${req.method} ${safeUrl(url)}: no data for ${req.timeoutMs} ms (timed out)`);
      let response: http.IncomingMessage | null = null;
      const send = url.protocol === 'https:' ? https().request : http.request;
      const r = send({
        protocol: url.protocol,
        hostname: url.hostname.replace(/^\[(.*)\]$/, '$1'),
        port: url.port || undefined,
        path: `${url.pathname}${url.search}`,
        method: req.method,
        headers,
        agent: this.agentFor(url),
        timeout: req.timeoutMs,
      });
      const headersDeadline = setTimeout(() => r.destroy(timeout()), req.timeoutMs);
      let finished = false;
      r.on('timeout', () => {
        if (finished) return;
        const e = timeout();
        if (response) response.destroy(e);
        r.destroy(e);
      });
      r.on('error', (e) => {
        clearTimeout(headersDeadline);
        reject(e);
      });
      r.on('response', (res) => {
        clearTimeout(headersDeadline);
        response = res;
        res.once('end', () => (finished = true));
        res.once('close', () => (finished = true));
        resolve({ status: res.statusCode ?? 0, headers: flattenHeaders(res.headers), body: res });
      });
      r.end();
    });
  }
}
