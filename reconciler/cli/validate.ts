import { existsSync } from 'node:fs';
import { basename, dirname } from 'node:path';
import { loadSpecDir, loadSpecFiles } from '../spec/load.js';
import { formatSpecError } from '../spec/types.js';
import { GLOBAL_HELP, parseCommand } from './options.js';
import { printLine } from './stdout.js';

export const VALIDATE_HELP = `Usage: pocker validate [FILE...] [--dir DIR]

Checks spec files without touching the host: YAML syntax, the schema, value ranges and
cross-field rules, duplicate names. With no FILE, checks every spec file in --dir.
Errors are printed as FILE:LINE:COL: MESSAGE. Host facts (layer dirs exist, CPUs online) are
checked when a spec is applied, not here.

Exit status: 0 when every spec is valid, 1 otherwise.

${GLOBAL_HELP}`;

export async function main(args: string[]): Promise<number> {
  const cmd = parseCommand(args, {}, true);
  if (cmd.values.help) {
    printLine(VALIDATE_HELP);
    return 0;
  }
  let result;
  let fileCount: number;
  if (cmd.positionals.length) {
    fileCount = cmd.positionals.length;
    result = loadSpecFiles(dirname(cmd.positionals[0]!), cmd.positionals, (f) => f, undefined, undefined, undefined, true);
    // A file named on the command line that is not there is an error, not an empty file.
    for (const file of cmd.positionals.filter((f) => !existsSync(f))) {
      result.errors.push({ file, line: 1, col: 1, message: 'no such file' });
      result.failedFiles.add(file);
    }
    for (const w of result.warnings) printLine(`warning: ${w}`);
    for (const d of result.desired) d.source = { ...d.source, dir: dirname(d.source.file), file: basename(d.source.file) };
  } else {
    const load = loadSpecDir(cmd.dir);
    if (load.status !== 'ok') {
      console.error(`error: ${load.statusError}`);
      return 1;
    }
    fileCount = load.files.length;
    result = load;
  }
  for (const e of result.errors) printLine(formatSpecError(e));
  for (const d of result.desired)
    if (d.spec.network.mode === 'host')
      printLine(`warning: ${d.source.file}: container "${d.spec.name}" shares the host's network namespace`);
  if (result.errors.length) {
    printLine(`${result.errors.length} error(s) in ${result.failedFiles.size} of ${fileCount} file(s)`);
    return 1;
  }
  printLine(`ok: ${result.desired.length} container spec(s) in ${fileCount} file(s)`);
  return 0;
}
