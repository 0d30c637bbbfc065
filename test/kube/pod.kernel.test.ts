import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, expect, it } from 'vitest';
import { WatchController } from '../../reconciler/controller/watch.js';
import { volumePath } from '../../reconciler/state/layout.js';
import { rawLimits } from '../helpers/cgroupValues.js';
import { useTestInstance, type TestInstance } from '../helpers/instance.js';
import { describeKernel } from '../helpers/kernel.js';
import { until } from '../helpers/wait.js';

/**
 * A Pod as a Kubernetes user writes it, with pocker's layer in an annotation: an init container
 * that prepares a claim, the container serving on 8080 with limits, a ConfigMap file, a variable
 * from the ConfigMap and a liveness probe. The container breaks its own page when the test
 * drops /data/break into the volume: the probe then fails and the container is restarted.
 */
function manifest(layer: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: web
  annotations:
    pocker.io/layers: '${JSON.stringify([layer])}'
    pocker.io/pids: "32"
    pocker.io/network: none
    prep.pocker.io/layers: '${JSON.stringify([layer])}'
spec:
  terminationGracePeriodSeconds: 1
  initContainers:
    - name: prep
      command: [sh, -c, "echo prepared > /data/ready"]
      volumeMounts: [{name: data, mountPath: /data}]
  containers:
    - name: web
      command:
        - sh
        - -c
        - |
          cat /data/ready /etc/app/app.conf; echo "greeting=$GREETING"
          mkdir -p /www && echo ok > /www/index.html && httpd -p 8080 -h /www
          while sleep 0.2; do [ -e /data/break ] && rm /data/break /www/index.html; done
      env: [{name: GREETING, valueFrom: {configMapKeyRef: {name: app, key: greeting}}}]
      resources:
        limits: {cpu: 250m, memory: 32Mi}
        requests: {cpu: 250m, memory: 32Mi}
      livenessProbe:
        httpGet: {path: /index.html, port: 8080}
        periodSeconds: 1
        failureThreshold: 2
      volumeMounts:
        - {name: data, mountPath: /data}
        - {name: conf, mountPath: /etc/app/app.conf, subPath: app.conf}
  volumes:
    - name: data
      persistentVolumeClaim: {claimName: data}
    - name: conf
      configMap: {name: app, items: [{key: app.conf, path: app.conf}]}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: app}
data:
  app.conf: "level=1\\n"
  greeting: hello
---
apiVersion: v1
kind: PersistentVolumeClaim
metadata: {name: data}
spec:
  accessModes: [ReadWriteOnce]
  resources: {requests: {storage: 1Gi}}
`;
}

describeKernel('a Kubernetes Pod manifest on the real kernel', () => {
  const current = useTestInstance();
  let inst: TestInstance;
  let ctl: WatchController | null = null;
  beforeEach(() => {
    inst = current();
  });
  afterEach(async () => {
    await ctl?.stop();
    ctl = null;
  });

  it('runs its init container first, then its container with its limits, ConfigMap and probe; a failing probe restarts it', async () => {
    inst.writeSpec('app.yaml', manifest(inst.layer));
    ctl = new WatchController({ dir: inst.specDir, dirs: inst.dirs, host: inst.host, driver: inst.driver, resyncMs: 60_000 });
    await ctl.start();
    await until(() => inst.runningPid('web') !== null, 'web running after prep completed', 60_000);
    expect(inst.container('prep').exit).toMatchObject({ exitCode: 0, signal: 0 });
    await inst.waitForLog('web', /prepared\nlevel=1\ngreeting=hello\n/);

    const limits = rawLimits(inst, 'web');
    expect(limits.memory).toBe(String(32 * 2 ** 20));
    expect(limits.cpu).toBe('25000 100000');
    expect(limits.pids).toBe('32');

    await until(() => inst.find('web')?.health?.status === 'healthy', 'web healthy by its livenessProbe', 30_000);
    expect(inst.container('web').health?.lastOutput).toBe('GET /index.html: HTTP 200');

    const pid = inst.pid('web');
    writeFileSync(join(volumePath(inst.dirs, 'data'), 'break'), '');
    await until(
      () => inst.runsAnotherPid('web', pid) && inst.container('web').record!.restartCount >= 1,
      'web restarted after its livenessProbe failed twice',
      60_000,
    );
    expect(existsSync(join(volumePath(inst.dirs, 'data'), 'break'))).toBe(false);
    await until(() => inst.find('web')?.health?.status === 'healthy', 'web healthy again', 30_000);
    expect(inst.container('prep').record!.restartCount).toBe(0);
  }, 180_000);
});
