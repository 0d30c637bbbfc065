import { startCli, type Commands } from './dispatch.js';

/**
 * Every verb, each loaded on first use: the whole CLI as the compiled sources run it
 * (dist/reconciler/cli/main.js). bin/pocker runs the bundles scripts/build-bundle.mjs makes from
 * this table instead, one per verb.
 */
const COMMANDS: Commands = {
  reconcile: () => import('./reconcile.js'),
  ps: () => import('./ps.js'),
  stats: () => import('./stats.js'),
  validate: () => import('./validate.js'),
  convert: () => import('./convert.js'),
  export: () => import('./export.js'),
  down: () => import('./down.js'),
  plan: () => import('./plan.js'),
  inspect: () => import('./inspect.js'),
  logs: () => import('./logs.js'),
  events: () => import('./events.js'),
  exec: () => import('./exec.js'),
  restart: () => import('./restart.js'),
  status: () => import('./status.js'),
  network: () => import('./network.js'),
  image: () => import('./image.js'),
  volume: () => import('./volume.js'),
  run: () => import('./run.js'),
  stop: () => import('./stop.js'),
  start: () => import('./start.js'),
  rm: () => import('./rm.js'),
  instance: () => import('./instance.js'),
};

startCli(COMMANDS);
