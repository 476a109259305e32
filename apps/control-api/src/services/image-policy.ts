import {
  BerthError,
  type ImageReference,
  imageAllowed,
  imagePrefixProblem,
  MAX_ALLOWED_IMAGE_PREFIXES,
  parseImageReference,
} from "@berth/core";
import { type Tx, tenants } from "@berth/db";
import { PUBLIC_NAMESPACE, tenantNamespace } from "@berth/registry";
import { eq } from "drizzle-orm";
import { z } from "zod";
import type { Deps } from "../deps";

/**
 * Which registries a tenant's pods may pull from: the tenant's own list of image prefixes
 * (`tenants.allowed_image_prefixes`), or the platform's (`ALLOWED_IMAGE_PREFIXES`) when it has
 * none. Checked at admission, so a node is never asked to pull from anywhere else (such as its
 * own loopback services).
 */

/**
 * A list of allowed prefixes as an input field, for the tenant-settings operation (the same rules
 * as `validateImagePrefixes` of @berth/core, which checks a plain list).
 */
export const allowedImagePrefixesInput = z
  .array(z.string().max(255))
  .max(MAX_ALLOWED_IMAGE_PREFIXES)
  .superRefine((list, ctx) => {
    list.forEach((p, i) => {
      const problem = imagePrefixProblem(p);
      if (problem) ctx.addIssue({ code: "custom", path: [i], message: `${JSON.stringify(p)}: ${problem}` });
    });
  });

/** The prefixes that apply to a tenant, read in the caller's transaction. */
export async function allowedImagePrefixesOf(
  deps: Deps,
  tx: Tx,
  tenantId: string,
): Promise<readonly string[]> {
  const [row] = await tx
    .select({ prefixes: tenants.allowedImagePrefixes })
    .from(tenants)
    .where(eq(tenants.id, tenantId));
  const own = row?.prefixes;
  if (!Array.isArray(own)) return deps.allowedImagePrefixes;
  // Lists are validated when set; an entry that is somehow not a prefix allows nothing.
  return own.filter((p): p is string => typeof p === "string" && imagePrefixProblem(p) === null);
}

/** Berth's own registry as admission sees it: its host in image names, and the writing tenant. */
export interface OwnRegistry {
  host: string;
  tenantId: string;
}

/**
 * An image of Berth's registry: allowed in the tenant's own namespace and in `library/` whatever
 * the prefixes say; another tenant's namespace (or none) is refused with the reason. Null: allowed; undefined: another registry.
 */
function ownRegistryProblem(ref: ImageReference, own: OwnRegistry): string | null | undefined {
  if (ref.domain !== own.host) return undefined;
  const slash = ref.path.indexOf("/");
  const namespace = slash === -1 ? "" : ref.path.slice(0, slash);
  if (namespace === tenantNamespace(own.tenantId) || namespace === PUBLIC_NAMESPACE) return null;
  return `${JSON.stringify(ref.normalised)} is not in this tenant's namespace of Berth's registry: pods may use ${own.host}/${tenantNamespace(own.tenantId)}/… and ${own.host}/${PUBLIC_NAMESPACE}/…`;
}

const forbidden = (path: string, message: string) =>
  new BerthError("FORBIDDEN", `${path}: ${message}`, { details: { issues: [{ path, message }] } });

/**
 * Refuses (403) the first image outside the allowed prefixes, naming its field and the list.
 * Images of Berth's registry (`own`) follow their own rule: the tenant's namespace and `library/`.
 */
export function checkImagesAllowed(
  images: readonly (string | { image: string; path: string })[],
  prefixes: readonly string[],
  own?: OwnRegistry | null,
): void {
  images.forEach((entry, i) => {
    const { image, path } =
      typeof entry === "string" ? { image: entry, path: `spec.template.spec.containers[${i}].image` } : entry;
    const ref = parseImageReference(image, path);
    const problem = own ? ownRegistryProblem(ref, own) : undefined;
    if (problem === null) return;
    if (problem !== undefined) throw forbidden(path, problem);
    if (imageAllowed(ref, prefixes)) return;
    const list = prefixes.length > 0 ? prefixes.join(", ") : "(none)";
    throw forbidden(
      path,
      `${JSON.stringify(image)} (${ref.normalised}) is not from an allowed registry; allowed image prefixes: ${list}`,
    );
  });
}

/** Every image of a pod spec as written, with its field path (`<at>.initContainers[0].image`, …). */
export function imagesOf(
  spec: {
    containers: readonly { image: string }[];
    initContainers?: readonly { image: string }[] | undefined;
  },
  at: string,
): { image: string; path: string }[] {
  return [
    ...(spec.initContainers ?? []).map((c, i) => ({
      image: c.image,
      path: `${at}.initContainers[${i}].image`,
    })),
    ...spec.containers.map((c, i) => ({ image: c.image, path: `${at}.containers[${i}].image` })),
  ];
}
