import { describe, expect, it } from 'vitest';
import { applyImageConfig, effectiveArgv, parseImageConfig } from '../../reconciler/spec/imageConfig.js';
import { effectiveSpec } from '../../reconciler/spec/normalize.js';
import type { UserSpec } from '../../reconciler/spec/types.js';

const config = { entrypoint: ['/docker-entrypoint.sh'], cmd: ['nginx', '-g', 'daemon off;'] };

describe("the image config with Kubernetes' command and args", () => {
  it('runs Entrypoint + Cmd with neither, Entrypoint + args with args, command (+ args) without the image Cmd with command', () => {
    expect(effectiveArgv({}, config)).toEqual(['/docker-entrypoint.sh', 'nginx', '-g', 'daemon off;']);
    expect(effectiveArgv({ args: ['nginx-debug'] }, config)).toEqual(['/docker-entrypoint.sh', 'nginx-debug']);
    expect(effectiveArgv({ command: ['sleep'] }, config)).toEqual(['sleep']);
    expect(effectiveArgv({ command: ['sleep'], args: ['5'] }, config)).toEqual(['sleep', '5']);
    expect(effectiveArgv({ args: [] }, config)).toEqual(['/docker-entrypoint.sh']);
    expect(effectiveArgv({}, {})).toEqual([]);
  });

  it('takes the image Env as the base (the spec overrides per key), and WorkingDir, User, StopSignal unless the spec sets them', () => {
    const user: UserSpec = { name: 'web', image: { reference: 'docker.io/library/nginx:1.27' }, env: { B: 'spec' } };
    const img = { ...config, env: { A: 'image', B: 'image' }, workingDir: '/srv', user: 'www-data', stopSignal: 'SIGQUIT' };
    const spec = applyImageConfig(user, effectiveSpec(user), img);
    expect(spec.env).toEqual({ A: 'image', B: 'spec' });
    expect([spec.workingDir, spec.user, spec.stopSignal]).toEqual(['/srv', 'www-data', 'SIGQUIT']);
    const own: UserSpec = { ...user, workingDir: '/x', user: '1000', stopSignal: 'SIGINT' };
    const spec2 = applyImageConfig(own, effectiveSpec(own), img);
    expect([spec2.workingDir, spec2.user, spec2.stopSignal]).toEqual(['/x', '1000', 'SIGINT']);
    const bare = applyImageConfig(user, effectiveSpec(user), {});
    expect([bare.workingDir, bare.user, bare.stopSignal]).toEqual(['/', null, 'SIGTERM']);
  });

  it('reads OCI and Docker image configs, leaving out what is malformed', () => {
    const doc = {
      architecture: 'amd64',
      config: {
        Entrypoint: ['/e'],
        Cmd: ['c'],
        Env: ['PATH=/usr/bin:/bin', 'NOEQUALS', 'X=a=b'],
        WorkingDir: '/w',
        User: '101:101',
        StopSignal: '3',
      },
    };
    expect(parseImageConfig(doc)).toEqual({
      entrypoint: ['/e'],
      cmd: ['c'],
      env: { PATH: '/usr/bin:/bin', X: 'a=b' },
      workingDir: '/w',
      user: '101:101',
      stopSignal: 'SIGQUIT',
    });
    expect(parseImageConfig({ config: { Entrypoint: null, Cmd: 'sh', WorkingDir: 'rel', User: '', StopSignal: 'SIGRTMIN+3' } })).toEqual(
      {},
    );
    expect(parseImageConfig({})).toEqual({});
    expect(parseImageConfig(null)).toEqual({});
  });
});
