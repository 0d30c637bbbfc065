import type { ContainerSpec, DesiredContainer } from '../spec/types.js';

/**
 * A desired container as it runs on the image its container is pinned to: the fields the image
 * gave (layers, the pin, argv, env, working dir, user, stop signal) from the container's spec,
 * which the same user spec produced on that image; everything else as desired now.
 */
export function pinnedTo(d: DesiredContainer, pinned: ContainerSpec): DesiredContainer {
  const { layers, image, command, env, workingDir, user, stopSignal } = pinned;
  return { ...d, spec: { ...d.spec, layers, image, command, env, workingDir, user, stopSignal } };
}
