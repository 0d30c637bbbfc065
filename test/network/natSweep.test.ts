import { describe, expect, it } from 'vitest';
import { rulesOf, splitRule } from '../../reconciler/network/natSweep.js';
import { etcFiles } from '../../reconciler/network/etcFiles.js';

const SAVE = `*nat
:POSTROUTING ACCEPT [0:0]
:CNI-aaa - [0:0]
:CNI-DN-bbb - [0:0]
-A POSTROUTING -s 10.1.0.2/32 -m comment --comment "name: \\"n\\" id: \\"pocker-x-web\\"" -j CNI-aaa
-A POSTROUTING -s 10.1.0.3/32 -m comment --comment "name: \\"n\\" id: \\"pocker-x-web2\\"" -j CNI-ccc
-A CNI-aaa -d 10.1.0.0/24 -m comment --comment "name: \\"n\\" id: \\"pocker-x-web\\"" -j ACCEPT
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"n\\" id: \\"pocker-x-web\\"" -m multiport --dports 80 -j CNI-DN-bbb
COMMIT
`;

describe('nat sweep', () => {
  it('splits iptables-save lines with quoted, escaped comments', () => {
    expect(splitRule('-A POSTROUTING -m comment --comment "name: \\"n\\" id: \\"c\\"" -j X')).toEqual([
      '-A',
      'POSTROUTING',
      '-m',
      'comment',
      '--comment',
      'name: "n" id: "c"',
      '-j',
      'X',
    ]);
  });

  it("finds exactly one container's rules and chains, never a shared chain or another container's", () => {
    const r = rulesOf(SAVE, 'pocker-x-web');
    expect(r.rules.map((a) => a[1])).toEqual(['POSTROUTING', 'CNI-aaa', 'CNI-HOSTPORT-DNAT']);
    expect(r.chains.sort()).toEqual(['CNI-DN-bbb', 'CNI-aaa']);
  });
});

describe('/etc files of a bridge container', () => {
  it('name the container at its address and drop loopback resolvers', () => {
    const f = etcFiles('web', '10.89.0.5', 'nameserver 127.0.0.53\nnameserver 192.0.2.1\nsearch lan\n');
    expect(f.hosts).toContain('10.89.0.5\tweb\n');
    expect(f.hostname).toBe('web\n');
    expect(f.resolvConf).toBe('nameserver 192.0.2.1\nsearch lan\n');
  });
});
