// Bundles the CLI for bin/pocker into CommonJS files: dist/bundle/verbs/VERB.cjs holds one verb and
// what it imports, dist/bundle/pocker.cjs the dispatcher alone (help, --version, unknown verbs). A
// verb's lazy
// import() stays lazy: those modules are in the file but run only when used. One file per verb
// instead of some 200 modules (yaml alone is 73) removes module resolution and the ES module
// loader's work per file, and a classic script can be compiled from V8's code cache, which
// bin/pocker keeps per file (dist/bundle/code-cache). esbuild-wasm is esbuild as WebAssembly:
// nothing native is downloaded at install time.
import { readFileSync, readdirSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild-wasm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
const cli = join(root, 'reconciler', 'cli');

/** The verbs of reconciler/cli/main.ts's table, each `name: () => import('./file.js')`. */
function verbs() {
  const table = [...readFileSync(join(cli, 'main.ts'), 'utf8').matchAll(/^ {2}([a-z]+): \(\) => import\('\.\/([A-Za-z]+)\.js'\),$/gm)];
  if (table.length < 10)
    throw new Error(`reconciler/cli/main.ts: found ${table.length} verbs in its table (the pattern no longer matches)`);
  return table.map(([, verb, file]) => ({ verb, file }));
}

/** Each verb's entry: the dispatcher with that verb alone; the dispatcher's own with none. */
const verbEntries = {
  name: 'pocker-verb-entries',
  setup(build) {
    build.onResolve({ filter: /^pocker-verb:/ }, (a) => ({ path: a.path.slice('pocker-verb:'.length), namespace: 'pocker-verb' }));
    build.onLoad({ filter: /.*/, namespace: 'pocker-verb' }, (a) => {
      const v = JSON.parse(a.path);
      const contents = v
        ? `import { startCli } from './dispatch.js';\nimport * as command from './${v.file}.js';\nstartCli({ ${v.verb}: () => Promise.resolve(command) });\n`
        : `import { startCli } from './dispatch.js';\nstartCli({});\n`;
      return { resolveDir: cli, loader: 'ts', contents };
    });
  },
};

/**
 * The seccomp filter of the default capability set, built now from the same sources: the bundle
 * starts with it (runtime/security/policy.ts) instead of building it at every `pocker run`.
 */
async function defaultSeccompFilters() {
  const r = await esbuild.build({
    absWorkingDir: root,
    bundle: true,
    write: false,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    logLevel: 'warning',
    stdin: {
      resolveDir: root,
      loader: 'ts',
      contents: [
        "import { capabilityMask, effectiveCapabilities } from './reconciler/runtime/security/capabilities.js';",
        "import { seccompBytes } from './reconciler/runtime/security/seccomp.js';",
        'const caps = effectiveCapabilities(false, [], []);',
        "export default { [capabilityMask(caps)]: seccompBytes(caps).toString('hex') };",
      ].join('\n'),
    },
  });
  const code = Buffer.from(r.outputFiles[0].text).toString('base64');
  return (await import(`data:text/javascript;base64,${code}`)).default;
}

const seccompFilters = await defaultSeccompFilters();
rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: [
    { in: 'pocker-verb:null', out: 'pocker' },
    ...verbs().map((v) => ({ in: `pocker-verb:${JSON.stringify(v)}`, out: `verbs/${v.verb}` })),
  ],
  plugins: [verbEntries],
  bundle: true,
  splitting: false,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  outdir,
  outExtension: { '.js': '.cjs' },
  sourcemap: 'linked',
  minifyWhitespace: true,
  minifySyntax: true,
  logLevel: 'warning',
  // Each file is one function expression of CommonJS's arguments, which bin/pocker compiles and
  // calls (no wrapping copy of the text at every start). The sources are ES modules that locate
  // files beside their code with import.meta.url.
  banner: {
    js: "(function (exports, require, module, __filename, __dirname) { var pockerImportMetaUrl = require('node:url').pathToFileURL(__filename).href;",
  },
  footer: { js: '})' },
  define: {
    POCKER_BUILD_ID: JSON.stringify(`${Date.now()}`),
    // A string literal: esbuild would inject an object as a module of its own.
    POCKER_SECCOMP_FILTERS: JSON.stringify(JSON.stringify(seccompFilters)),
    'import.meta.url': 'pockerImportMetaUrl',
  },
});

// bin/pocker reads the bundles as Latin-1, which is exact only for ASCII: esbuild escapes
// non-ASCII characters in strings, but not in regular expression literals.
for (const file of [
  'pocker.cjs',
  ...readdirSync(join(outdir, 'verbs'))
    .filter((f) => f.endsWith('.cjs'))
    .map((f) => join('verbs', f)),
]) {
  const bytes = readFileSync(join(outdir, file));
  const at = bytes.findIndex((b) => b > 0x7f);
  if (at !== -1) {
    const line = bytes.subarray(0, at).toString('latin1').split('\n').length;
    throw new Error(`dist/bundle/${file}:${line}: a non-ASCII character (write it as a \\u escape in the source)`);
  }
}
