import { writeSync } from 'node:fs';

/** Where printLine writes: fd 1 directly, Node's process.stdout after fd 1 would block, nothing once the reader is gone. */
let mode: 'fd' | 'stream' | 'closed' = 'fd';

/**
 * Prints a line on stdout with write(2) on fd 1. One-shot commands print through this instead of
 * console.log: process.stdout's stream machinery (some twenty of Node's internal modules) cost
 * each of them about 5 ms of start-up for one line of output. Order with console.log is kept
 * (Node writes to files, pipes and terminals synchronously on Linux). A non-blocking fd 1 that
 * would block (EAGAIN) hands the rest, and every later line, to process.stdout, which queues; a
 * reader that went away (EPIPE) ends the output quietly, as a closed pipe ends `ps | head`.
 */
export function printLine(text: string): void {
  if (mode === 'closed') return;
  const bytes = Buffer.from(`${text}\n`, 'utf8');
  if (mode === 'stream') {
    process.stdout.write(bytes);
    return;
  }
  let done = 0;
  while (done < bytes.length) {
    try {
      done += writeSync(1, bytes, done, bytes.length - done);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'EAGAIN') {
        mode = 'stream';
        process.stdout.write(bytes.subarray(done));
        return;
      }
      if (code === 'EPIPE') {
        mode = 'closed';
        return;
      }
      throw e;
    }
  }
}
