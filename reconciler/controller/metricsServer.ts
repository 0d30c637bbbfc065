import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { describeError } from '../host/errors.js';
import type { Logger } from '../log/logger.js';
import type { ControllerMetrics } from './metrics.js';
import { formatMetricsAddress, type MetricsAddress } from './metricsAddress.js';
import type { ControllerSnapshot } from './snapshot.js';
import { renderStatusPage } from './statusPage.js';

/** What the listener serves from. */
export interface MetricsServerOptions {
  address: MetricsAddress;
  metrics: ControllerMetrics;
  snapshot: () => ControllerSnapshot;
  log: Logger;
}

/** Longest a request may take to arrive (a slow client never holds the controller). */
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * The watching controller's listener: `/metrics` (Prometheus text format) and `/` (the status
 * page), GET and HEAD only, read-only. Each request takes one snapshot (the controller's last
 * observations, usage read from the kernel now).
 */
export class MetricsServer {
  private server: Server | null = null;

  constructor(private readonly o: MetricsServerOptions) {}

  /** Binds the address; resolves once listening (rejects with an error naming the address). */
  async start(): Promise<void> {
    const server = createServer((req, res) => void this.handle(req, res));
    server.requestTimeout = REQUEST_TIMEOUT_MS;
    server.headersTimeout = REQUEST_TIMEOUT_MS;
    server.keepAliveTimeout = 5_000;
    const a = this.o.address;
    if (a.kind === 'unix') removeStaleSocket(a.path);
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e) =>
        reject(
          Object.assign(new Error(`metrics: cannot listen on ${formatMetricsAddress(a)}: ${describeError(e)}`), { code: 'METRICS_LISTEN' }),
        ),
      );
      if (a.kind === 'unix') server.listen(a.path, resolve);
      else server.listen(a.port, a.host, resolve);
    });
    if (a.kind === 'unix') chmodSync(a.path, 0o660);
    server.on('error', (e) => this.o.log.error({ error: describeError(e) }, `metrics listener: ${describeError(e)}`));
    this.server = server;
  }

  /** Where it listens. */
  get address(): MetricsAddress {
    return this.o.address;
  }

  /** The TCP port bound (tests bind port 0), or null on a unix socket. */
  get port(): number | null {
    const addr = this.server?.address();
    return addr && typeof addr === 'object' ? (addr as AddressInfo).port : null;
  }

  async stop(): Promise<void> {
    const s = this.server;
    this.server = null;
    if (!s) return;
    s.closeAllConnections();
    await new Promise<void>((resolve) => s.close(() => resolve()));
    if (this.o.address.kind === 'unix') removeStaleSocket(this.o.address.path);
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const send = (status: number, type: string, body: string): void => {
      res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    try {
      if (req.method !== 'GET' && req.method !== 'HEAD') {
        res.setHeader('allow', 'GET, HEAD');
        return send(405, 'text/plain; charset=utf-8', 'only GET and HEAD\n');
      }
      const url = new URL(req.url ?? '/', 'http://pocker');
      if (url.pathname === '/metrics') return send(200, this.o.metrics.contentType, await this.o.metrics.expose(this.o.snapshot()));
      if (url.pathname === '/') {
        const refresh = Number(url.searchParams.get('refresh') ?? '0');
        const page = renderStatusPage(this.o.snapshot(), {
          refreshSeconds: Number.isInteger(refresh) && refresh > 0 && refresh <= 3600 ? refresh : 0,
        });
        return send(200, 'text/html; charset=utf-8', page);
      }
      return send(404, 'text/plain; charset=utf-8', 'not found: / (status page) and /metrics\n');
    } catch (e) {
      this.o.log.error({ error: describeError(e), path: req.url }, `metrics: ${req.url}: ${describeError(e)}`);
      if (!res.headersSent) send(500, 'text/plain; charset=utf-8', 'internal error (see the controller log)\n');
      else res.destroy();
    }
  }
}

/** A socket left by a controller that was killed: removed; anything else at the path is left and the listen fails. */
function removeStaleSocket(path: string): void {
  try {
    if (lstatSync(path).isSocket()) unlinkSync(path);
  } catch {
    // Not there.
  }
}
