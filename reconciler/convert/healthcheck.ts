/**
 * `healthcheck` → `healthcheck.exec`: `["CMD", ...]` is the argv, `["CMD-SHELL", s]` and a string
 * run `sh -c s`, `["NONE"]` and `disable: true` mean no check. Docker's defaults (interval and
 * timeout 30s, retries 3) are written out, pocker's differ. onUnhealthy is always none: compose
 * never restarts an unhealthy container.
 */
import type { ServiceContext } from './context.js';
import type { SpecHealthcheck } from './types.js';
import { convertDuration } from './units.js';
import { describe, isMap, scalarString } from './values.js';

/** Docker's health check defaults, which compose inherits. */
export const DOCKER_HEALTH_DEFAULTS = { interval: '30s', timeout: '30s', retries: 3 };

function testArgv(ctx: ServiceContext, test: unknown): string[] | 'none' | null {
  if (typeof test === 'string') return test.trim() ? ['sh', '-c', test] : 'none';
  if (!Array.isArray(test) || test.length === 0)
    throw ctx.invalid(['healthcheck', 'test'], `test is a string or a list, not ${describe(test)}`);
  const words = test.map((w) => scalarString(w));
  if (words.some((w) => w === null)) throw ctx.invalid(['healthcheck', 'test'], 'test is a list of strings');
  const [kind, ...rest] = words as [string, ...string[]];
  if (kind === 'NONE') return 'none';
  if (kind === 'CMD-SHELL') return rest.length ? ['sh', '-c', rest.join(' ')] : null;
  if (kind === 'CMD') return rest.length && rest[0] !== '' ? rest : null;
  throw ctx.invalid(['healthcheck', 'test'], `a test list starts with CMD, CMD-SHELL or NONE, not ${JSON.stringify(kind)}`);
}

function duration(ctx: ServiceContext, h: Record<string, unknown>, key: string, min: number): string | undefined {
  if (h[key] === undefined || h[key] === null) return undefined;
  const d = convertDuration(h[key]);
  if ('error' in d) {
    ctx.lose(`healthcheck.${key}`, `${d.error}: pocker's default applies`);
    return undefined;
  }
  if (d.ms === 0) return undefined;
  if (d.ms < min) {
    ctx.lose(`healthcheck.${key}`, `${d.value} is below pocker's minimum of ${min}ms: ${min}ms is used`);
    return `${min}ms`;
  }
  return d.value;
}

/** The service's health check, or undefined when it has none (or it is disabled). */
export function convertHealthcheck(ctx: ServiceContext): SpecHealthcheck | undefined {
  const h = ctx.def.healthcheck;
  if (h === undefined || h === null) return undefined;
  if (!isMap(h)) throw ctx.invalid(['healthcheck'], `healthcheck is a mapping, not ${describe(h)}`);
  if (h.disable === true) return undefined;
  if (h.test === undefined || h.test === null) {
    ctx.lose(
      'healthcheck',
      "no test: Docker would run the image's HEALTHCHECK with these settings; pocker reads no HEALTHCHECK of images: no check",
    );
    return undefined;
  }
  const argv = testArgv(ctx, h.test);
  if (argv === 'none') return undefined;
  if (argv === null) {
    ctx.lose('healthcheck.test', 'the test names no command: no check');
    return undefined;
  }
  if (h.start_interval !== undefined) ctx.lose('healthcheck.start_interval', 'pocker checks at one interval, also during the start period');
  let retries = DOCKER_HEALTH_DEFAULTS.retries;
  if (h.retries !== undefined && h.retries !== null) {
    if (typeof h.retries === 'number' && Number.isInteger(h.retries) && h.retries >= 1 && h.retries <= 1000) retries = h.retries;
    else ctx.lose('healthcheck.retries', `${describe(h.retries)} is not 1 to 1000: ${retries} is used`);
  }
  const startPeriod = duration(ctx, h, 'start_period', 0);
  return {
    exec: argv,
    interval: duration(ctx, h, 'interval', 100) ?? DOCKER_HEALTH_DEFAULTS.interval,
    timeout: duration(ctx, h, 'timeout', 10) ?? DOCKER_HEALTH_DEFAULTS.timeout,
    retries,
    ...(startPeriod !== undefined && { startPeriod }),
    onUnhealthy: 'none',
  };
}
