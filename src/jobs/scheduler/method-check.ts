import { paramsErrorText } from '../params.ts';
import type { JobRegistry } from '../registry.ts';

/**
 * Why a schedule's method and params cannot run on this registry — an unknown method (with the
 * loaded ones), or params its schema refuses (`channel_id: got …, expected …`) — or undefined.
 */
export function methodProblem(registry: JobRegistry, method: string, params: Record<string, unknown>): string | undefined {
  const owner = registry.sprockets().find((s) => s.methods.includes(method));
  const definition = owner && registry.get(owner.name)?.definition.methods[method];
  if (!definition) {
    const known = registry.methodNames();
    const listed = known.length > 20 ? `${known.slice(0, 20).join(', ')}, …` : known.join(', ');
    return `Unknown method: ${method} (${known.length > 0 ? `loaded: ${listed}` : 'no sprockets are loaded; list them under sprockets:'})`;
  }
  const parsed = definition.params.safeParse(params);
  return parsed.success ? undefined : `params: ${paramsErrorText(params, parsed.error)}`;
}
