import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../reconciler/native.js';

/** The bad-input corpus (test/spec/corpus): spec files that must each be refused with a clear error. */
export const CORPUS_DIR = join(packageRoot(), 'test', 'spec', 'corpus');

/** Corpus entry -> a pattern its errors must match ("" = any clear file:line:col error). */
export const CORPUS: Record<string, string> = JSON.parse(readFileSync(join(CORPUS_DIR, 'expect.json'), 'utf8'));

/** File name of a corpus entry. */
export const corpusFile = (name: string): string => `${name}.yaml`;
