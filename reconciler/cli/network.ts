import { GLOBAL_HELP, parseCommand, UsageError } from './options.js';
import { DEFAULT_NETWORK_OPTIONS } from '../network/conflist.js';

export const NETWORK_HELP = `Usage: pocker network rm NAME [--cni-conf-dir DIR]

Removes what the CNI plugins keep for a network after its last container is gone: the bridge,
portmap's shared iptables chains (when no rule is left in them) and the host-local IPAM dir (when
it holds no address). Refused while a container of this instance uses the network. The conflist
itself is left in place; the next container on the network brings everything back.

Options:
  --cni-conf-dir DIR   CNI network configurations (default ${DEFAULT_NETWORK_OPTIONS.confDir})

${GLOBAL_HELP}`;

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, { 'cni-conf-dir': { type: 'string' } }, true);
  if (cmd.values.help) {
    console.log(NETWORK_HELP);
    return 0;
  }
  const [verb, name, ...rest] = cmd.positionals;
  if (verb !== 'rm' || !name || rest.length) throw new UsageError('usage: pocker network rm NAME');
  const { removeNetwork } = await import('../network/remove.js');
  const { NodeHost } = await import('../host/nodeHost.js');
  const opts = { ...DEFAULT_NETWORK_OPTIONS, ...(cmd.values['cni-conf-dir'] && { confDir: cmd.values['cni-conf-dir'] as string }) };
  try {
    const done = removeNetwork(new NodeHost(), name, cmd.dirs, opts);
    console.log(done.length ? `removed ${done.join(', ')}` : `nothing of network "${name}" was left`);
    return 0;
  } catch (e) {
    console.error(`pocker network rm: ${(e as Error).message}`);
    return 1;
  }
}
