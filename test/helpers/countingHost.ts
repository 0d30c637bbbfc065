import type { CniExec } from '../../reconciler/host/cniExec.js';
import { MUTATING_METHODS, type Host } from '../../reconciler/host/host.js';
import type { NetAdmin } from '../../reconciler/host/netAdmin.js';
import type { NetnsFirewall } from '../../reconciler/host/firewall.js';

/** A pass's record of itself (the source status `pocker status` shows, the parse cache), not a change to any container. */
const BOOKKEEPING =
  /^(mkdir \S*\/\.sources|writeFileAtomic \S*\/\.sources\/[0-9a-f]+\.json|(writeFileAtomic|removeFile) \S*\/\.spec-cache-[0-9a-f]+\.json)$/;

/**
 * A Host that records every mutating call (method and first argument) before passing it on:
 * its own mutating methods, every CNI plugin run, every nat or link change (listing the nat
 * table is not one) and every firewall table applied. A pass's writes of its own status and parse cache are kept apart in
 * `bookkeeping`.
 */
export function countingHost(inner: Host): { host: Host; calls: string[]; bookkeeping: string[] } {
  const calls: string[] = [];
  const bookkeeping: string[] = [];
  const cni: CniExec = {
    available: (path) => inner.cni.available(path),
    run: (path, env, stdin, timeoutMs) => {
      calls.push(`cni ${env['CNI_COMMAND']} ${path}`);
      return inner.cni.run(path, env, stdin, timeoutMs);
    },
  };
  const net: NetAdmin = {
    saveNat: () => inner.net.saveNat(),
    nat: (args) => {
      if (args[0] !== '-S') calls.push(`nat ${args.join(' ')}`);
      return inner.net.nat(args);
    },
    deleteLink: (name) => {
      calls.push(`deleteLink ${name}`);
      return inner.net.deleteLink(name);
    },
  };
  const firewall: NetnsFirewall = {
    apply: (netns, script) => {
      calls.push(`nft -f ${netns}`);
      return inner.firewall.apply(netns, script);
    },
    list: (netns, table) => inner.firewall.list(netns, table),
  };
  const host = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'cni') return cni;
      if (prop === 'net') return net;
      if (prop === 'firewall') return firewall;
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      const fn = value as (...args: unknown[]) => unknown;
      if ((MUTATING_METHODS as readonly string[]).includes(String(prop))) {
        return (...args: unknown[]) => {
          const call = `${String(prop)} ${typeof args[0] === 'object' ? JSON.stringify(args[0]) : String(args[0])}`;
          (BOOKKEEPING.test(call) ? bookkeeping : calls).push(call);
          return fn.apply(target, args);
        };
      }
      return fn.bind(target);
    },
  });
  return { host, calls, bookkeeping };
}
