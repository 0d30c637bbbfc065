import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { exportKube } from '../../reconciler/kube/export.js';
import { renderObjects } from '../../reconciler/kube/render.js';
import type { ExportOptions } from '../../reconciler/kube/types.js';
import { packageRoot } from '../../reconciler/native.js';
import { loadSpecFiles } from '../../reconciler/spec/load.js';
import { isSpecFileName, parseSpecFile } from '../../reconciler/spec/parse.js';
import { formatSpecError } from '../../reconciler/spec/types.js';
import { documentedField, documentedWarningFields, kubeSchemaErrors } from '../helpers/kube.js';

/** Every dir of examples/ with spec files (the instance config examples/systemd/pocker.yaml is none). */
function exampleDirs(): string[] {
  const walk = (dir: string): string[] => [
    dir,
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory())
      .flatMap((e) => walk(join(dir, e.name))),
  ];
  return walk(join(packageRoot(), 'examples')).filter((d) => specFiles(d).length);
}

const specFiles = (dir: string): string[] =>
  readdirSync(dir)
    .filter((f) => isSpecFileName(f) && f !== 'pocker.yaml')
    .sort();

const VARIANTS: Array<Pick<ExportOptions, 'kind' | 'publish' | 'serviceType'>> = [
  { kind: 'Pod', publish: 'service', serviceType: 'ClusterIP' },
  { kind: 'Deployment', publish: 'service', serviceType: 'NodePort' },
  { kind: 'Pod', publish: 'hostport', serviceType: 'ClusterIP' },
];

describe('the examples exported to Kubernetes', () => {
  const documented = documentedWarningFields();
  for (const dir of exampleDirs())
    it(`${dir.slice(packageRoot().length + 1)}: valid objects, only documented warnings, read back to the same specs`, () => {
      const load = loadSpecFiles(dir, specFiles(dir), (f) => join(dir, f));
      expect(load.errors.map(formatSpecError)).toEqual([]);
      for (const v of VARIANTS) {
        const result = exportKube(load.desired, null, {
          ...v,
          secretsDir: '/etc/pocker/secrets',
          readSource: () => ({ error: 'the examples have no file sources' }),
        });
        expect(result.objects.length).toBeGreaterThanOrEqual(load.desired.length);
        for (const o of result.objects) expect(kubeSchemaErrors(o.object)).toEqual([]);
        for (const w of result.warnings) expect(documented, `${w.field}: ${w.message}`).toContain(documentedField(w.field));
        expect([...result.warnings, ...result.notes].filter((f) => f.readBack === 'differs')).toEqual([]);
        const back = parseSpecFile(renderObjects(result.objects, 'examples'), join(dir, 'kube.yaml'), { dir, file: 'kube.yaml' });
        expect(back.errors.map(formatSpecError)).toEqual([]);
        expect(Object.fromEntries(back.specs.map((s) => [s.spec.name, s.hash]))).toEqual(
          Object.fromEntries(load.desired.map((d) => [d.spec.name, d.hash])),
        );
      }
    });

  it('covers the demo, the network example and the experiments', () => {
    const names = exampleDirs().map((d) => d.slice(packageRoot().length + 1));
    expect(names).toEqual(expect.arrayContaining(['examples', 'examples/network', 'examples/debian', 'examples/experiments/memory']));
  });
});
