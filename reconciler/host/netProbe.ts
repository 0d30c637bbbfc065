import { builtins } from '../builtins.js';
import { native } from '../native.js';

/** What a connection made from inside a process's network namespace found. */
export interface NetProbeResult {
  /** The connection was accepted (and, for HTTP, a status line came back). */
  connected: boolean;
  /** HTTP status, for an HTTP probe that got one. */
  status?: number;
  /** Why not, when it failed. */
  error?: string;
}

/** Largest response head read from an HTTP probe. */
const MAX_HEAD = 8192;

/**
 * Connects to 127.0.0.1:port inside the network namespace of pid (its /proc/PID/ns/net), and for
 * an HTTP probe sends `GET path HTTP/1.0` and reads the status line; everything within timeoutMs.
 */
export async function probeInNetns(pid: number, target: { port: number; httpPath?: string }, timeoutMs: number): Promise<NetProbeResult> {
  const deadline = Date.now() + timeoutMs;
  let fd: number;
  try {
    fd = await native().netnsConnect(`/proc/${pid}/ns/net`, target.port, timeoutMs);
  } catch (e) {
    return { connected: false, error: (e as Error).message };
  }
  const sock = new (builtins.net().Socket)({ fd, readable: true, writable: true });
  if (target.httpPath === undefined) {
    sock.destroy();
    return { connected: true };
  }
  return new Promise((resolve) => {
    let head = '';
    let done = false;
    const finish = (r: NetProbeResult): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(r);
    };
    const timer = setTimeout(
      () => finish({ connected: true, error: `no HTTP response within ${timeoutMs} ms` }),
      Math.max(1, deadline - Date.now()),
    );
    sock.setEncoding('latin1');
    sock.on('data', (d: string) => {
      head += d;
      const m = /^HTTP\/\d(?:\.\d)? (\d{3})/.exec(head);
      if (m) finish({ connected: true, status: Number(m[1]) });
      else if (head.includes('\r\n') || head.length > MAX_HEAD)
        finish({ connected: true, error: `not an HTTP response: ${JSON.stringify(head.slice(0, 80))}` });
    });
    sock.on('error', (e) => finish({ connected: true, error: e.message }));
    sock.on('close', () => finish({ connected: true, error: 'connection closed before a status line' }));
    sock.write(`GET ${target.httpPath} HTTP/1.0\r\nHost: localhost\r\nUser-Agent: pocker-healthcheck\r\nConnection: close\r\n\r\n`);
  });
}
