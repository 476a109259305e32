import { UsageError } from "../errors";
import { str } from "../json";
import { networkKinds } from "./network";
import { events, pods, registryKinds } from "./objects";
import { clusters, joinTokens, nodePools, nodes } from "./platform";
import type { Resource } from "./resource";

/** Every kind `berth get` serves, in the order `berth api-resources` lists them. */
export const RESOURCES: readonly Resource[] = [
  pods,
  ...registryKinds,
  ...networkKinds,
  events,
  nodes,
  nodePools,
  joinTokens,
  clusters,
];

/** A kind by any of its names, case-insensitively (`pods`, `pod`, `po`, `Deployment`). */
export function resourceNamed(name: string): Resource {
  const wanted = name.toLowerCase();
  const found = RESOURCES.find((r) => r.names.includes(wanted) || r.kind.toLowerCase() === wanted);
  if (!found)
    throw new UsageError(`the server doesn't have a resource type "${name}" (see \`berth api-resources\`)`);
  return found;
}

/** `kind/name` for `-o name`. */
export function nameOf(resource: Resource, item: Record<string, unknown>): string {
  if (resource.nameOf) return resource.nameOf(item);
  const metadata = item.metadata as Record<string, unknown> | undefined;
  return `${resource.kind.toLowerCase()}/${str(metadata?.name)}`;
}

export type { ListQuery, ObjectRef, Resource } from "./resource";
