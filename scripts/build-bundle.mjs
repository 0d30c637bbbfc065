// Bundles the CLI for bin/pocker: dist/bundle/pocker.mjs and the chunks its verbs load on demand.
// One file per lazily loaded part instead of some 200 modules (yaml alone is 73) cuts the module
// resolution and loading every command pays at start-up. esbuild-wasm is esbuild as WebAssembly:
// nothing native is downloaded at install time.
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild-wasm';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');

rmSync(outdir, { recursive: true, force: true });
await esbuild.build({
  absWorkingDir: root,
  entryPoints: { pocker: 'reconciler/cli/main.ts' },
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  sourcemap: 'linked',
  logLevel: 'warning',
  // Packages written as CommonJS require Node's built-ins: give each output file Node's require.
  banner: {
    js: "import { createRequire as pockerCreateRequire } from 'node:module'; const require = pockerCreateRequire(import.meta.url);",
  },
  define: { POCKER_BUILD_ID: JSON.stringify(`${Date.now()}`) },
});
