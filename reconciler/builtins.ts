import type * as ChildProcess from 'node:child_process';
import { createRequire } from 'node:module';
import type * as Crypto from 'node:crypto';
import type * as FsPromises from 'node:fs/promises';
import type * as Net from 'node:net';

const load = createRequire(import.meta.url);
let childProcessModule: typeof ChildProcess | undefined;
let cryptoModule: typeof Crypto | undefined;
let netModule: typeof Net | undefined;
let fsPromisesModule: typeof FsPromises | undefined;

/**
 * Node's built-in modules that cost start-up, each loaded on first use: node:child_process
 * brings node:net, node:dgram and the streams with it, node:crypto its streams and key code
 * (about 3 ms each here), node:fs/promises its file handles, streams and readline (about 1.5
 * ms). Commands that spawn nothing, hash nothing or write nothing durably never load them.
 */
export const builtins = {
  childProcess: (): typeof ChildProcess => (childProcessModule ??= load('node:child_process') as typeof ChildProcess),
  crypto: (): typeof Crypto => (cryptoModule ??= load('node:crypto') as typeof Crypto),
  net: (): typeof Net => (netModule ??= load('node:net') as typeof Net),
  fsPromises: (): typeof FsPromises => (fsPromisesModule ??= load('node:fs/promises') as typeof FsPromises),
};
