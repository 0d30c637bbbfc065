/**
 * `depends_on` → `dependsOn`: the list form and `service_started` are `started`,
 * `service_healthy` is `healthy`, `service_completed_successfully` is `completed`, `restart: true`
 * is `restartWith`. Names are resolved to container names once every service is converted.
 */
import type { ServiceContext } from './context.js';
import type { SpecDependency } from './types.js';
import { describe, isMap, scalarString } from './values.js';

/** A dependency as the compose file writes it, by service name. */
export interface ComposeDependency {
  service: string;
  condition: NonNullable<SpecDependency['condition']>;
  restartWith: boolean;
  /** `required: false`: compose only warns when the service is missing. */
  required: boolean;
}

const CONDITIONS: Record<string, ComposeDependency['condition']> = {
  service_started: 'started',
  service_healthy: 'healthy',
  service_completed_successfully: 'completed',
};

/** The service's dependencies by service name. */
export function readDependsOn(ctx: ServiceContext): ComposeDependency[] {
  const raw = ctx.def.depends_on;
  if (raw === undefined || raw === null) return [];
  if (Array.isArray(raw))
    return raw.map((s, i) => {
      const name = scalarString(s);
      if (name === null) throw ctx.invalid(['depends_on', i], `a dependency is a service name, not ${describe(s)}`);
      return { service: name, condition: 'started', restartWith: false, required: true };
    });
  if (!isMap(raw)) throw ctx.invalid(['depends_on'], `depends_on is a list or a mapping, not ${describe(raw)}`);
  return Object.entries(raw).map(([service, e]) => {
    const entry = isMap(e) ? e : {};
    const written = entry.condition === undefined || entry.condition === null ? 'service_started' : scalarString(entry.condition);
    const condition = written === null ? undefined : CONDITIONS[written];
    if (!condition)
      throw ctx.invalid(
        ['depends_on', service, 'condition'],
        `condition ${describe(entry.condition)} is not one of ${Object.keys(CONDITIONS).join(', ')}`,
      );
    return { service, condition, restartWith: entry.restart === true, required: entry.required !== false };
  });
}
