import { assertSafeInput, ValidationError } from "@berth/core";
import { KIND_NAMES, MAX_DOCUMENTS, readDocuments } from "@berth/kube";
import { z } from "zod";
import type { Deps, UserCaller } from "../../deps";
import type { RequestMeta } from "../../operation";
import { clusterId } from "../clusters";
import { applyDocuments, authorizeEach } from "./apply";
import { atDocument, identifyDocument } from "./identify";
import { dryRunParam } from "./names";

/**
 * `POST /v1/clusters/{id}/apply`: a multi-document YAML stream, a JSON array or a `kind: List`
 * (as `kubectl apply -f` reads them); over tRPC also an array of objects. At most 200 objects.
 */
export const applyManifestsInput = z
  .object({
    clusterId,
    /** The documents: YAML or JSON text (REST sends the body here), or the objects themselves. */
    manifests: z.union([
      z.string().max(4 * 1024 * 1024),
      z.array(z.unknown()).max(MAX_DOCUMENTS),
      z.record(z.string(), z.unknown()),
    ]),
    /** How REST's body was sent (its Content-Type); text over tRPC is read as YAML (JSON is YAML too). */
    format: z.enum(["yaml", "json"]).optional(),
    dryRun: dryRunParam,
  })
  .strict();

/** Per object, in the order given: created, configured (with the field paths that changed) or unchanged. */
export const applyManifestsReply = z.strictObject({
  dryRun: z.boolean(),
  items: z.array(
    z.strictObject({
      kind: z.enum(KIND_NAMES),
      namespace: z.string().nullable().describe("Null for cluster-scoped kinds"),
      name: z.string(),
      action: z.enum(["created", "configured", "unchanged"]),
      changedPaths: z.array(z.string()),
    }),
  ),
});

function documentsOf(input: z.infer<typeof applyManifestsInput>): unknown[] {
  const m = input.manifests;
  if (typeof m === "string") return readDocuments(m, input.format ?? "yaml");
  if (Array.isArray(m)) {
    if (m.length === 0) throw new ValidationError("no objects to apply");
    return m;
  }
  return readDocuments(JSON.stringify(m), "json");
}

export async function applyManifests(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof applyManifestsInput>,
  meta: RequestMeta,
): Promise<z.output<typeof applyManifestsReply>> {
  const documents = documentsOf(input);
  // Parsed YAML gets the checks every request's input gets at the edge (NUL bytes, depth, size).
  documents.forEach((d, i) => {
    atDocument(`documents[${i}]`, () => assertSafeInput(d));
  });
  const identified = documents.map((d, i) => identifyDocument(d, i));
  await authorizeEach(deps, caller, input.clusterId, identified, meta);
  const dryRun = input.dryRun ?? false;
  const results = await applyDocuments(deps, caller, input.clusterId, identified, { dryRun });
  return {
    dryRun,
    items: results.map((r) => ({
      kind: r.kind,
      namespace: r.namespace || null,
      name: r.name,
      action: r.action,
      changedPaths: r.changedPaths,
    })),
  };
}
