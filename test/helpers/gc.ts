import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

setFlagsFromString('--expose-gc');
const fullGc = runInNewContext('gc') as () => void;

/** Whether what the ref points at has been garbage collected once nothing else holds it (after full GCs). */
export async function collected(ref: WeakRef<object>): Promise<boolean> {
  for (let i = 0; i < 5; i++) {
    // A WeakRef's target stays alive to the end of the task that last dereferenced it.
    await new Promise((r) => setImmediate(r));
    fullGc();
    if (ref.deref() === undefined) return true;
  }
  return false;
}
