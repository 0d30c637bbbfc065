/** Converted specs through the checks `pocker validate` makes, before anything is written. */
import { join } from 'node:path';
import { crossFileProblems } from '../spec/crossChecks.js';
import { parseSpecFile } from '../spec/parse.js';
import type { DesiredContainer, SpecError } from '../spec/types.js';

/** A spec file to be written: its name in the output dir and its text. */
export interface SpecText {
  file: string;
  text: string;
}

/**
 * The problems `pocker validate --dir` would report for these files in `dir` (schema, value
 * ranges, cross-field rules; names, aliases and ports claimed twice, dependencies): none means
 * the dir of exactly these files is valid.
 */
export function checkSpecTexts(dir: string, specs: readonly SpecText[]): SpecError[] {
  const errors: SpecError[] = [];
  const perFile = new Map<string, DesiredContainer[]>();
  for (const s of specs) {
    const parsed = parseSpecFile(s.text, join(dir, s.file), { dir, file: s.file });
    errors.push(...parsed.errors);
    if (!parsed.errors.length) perFile.set(s.file, parsed.specs);
  }
  errors.push(...crossFileProblems(perFile, (f) => join(dir, f)).errors);
  return errors;
}
