import { MUTATING_METHODS, type Host } from '../../reconciler/host/host.js';

/** A Host that records every mutating call (method and first argument) before passing it on. */
export function countingHost(inner: Host): { host: Host; calls: string[] } {
  const calls: string[] = [];
  const host = new Proxy(inner, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if ((MUTATING_METHODS as readonly string[]).includes(String(prop))) {
        return (...args: unknown[]) => {
          calls.push(`${String(prop)} ${typeof args[0] === 'object' ? JSON.stringify(args[0]) : String(args[0])}`);
          return fn.apply(target, args);
        };
      }
      return fn.bind(target);
    },
  });
  return { host, calls };
}
