import { generateKeyPairSync } from "node:crypto";
import { deployments, events, pods, revisionsOf, withSystem } from "@berth/db";
import { loadRegistrySigningKey } from "@berth/registry";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pinTemplate, tagsToPin } from "../src/controllers/image-pins";
import type { Deps } from "../src/deps";
import { reconcileCluster } from "../src/jobs/reconcile-cluster";
import { createImageResolver } from "../src/registry/resolver";
import {
  createFixture,
  deploymentRow,
  type Fixture,
  hashOf,
  insertDeployment,
  insertNode,
  insertTenantAndCluster,
  MiB,
  template,
} from "./fixtures";

/**
 * Pins of Berth's registry's tags when no registry answers (a closed port: a real refusal), and
 * pins recorded before a crash: the revision is made from the record, without asking again. The
 * registry that answers is exercised end to end in test/integration/registry-digests.test.ts.
 */
const HOST = "127.0.0.1:1";
let f: Fixture;
let deps: Deps;
beforeAll(async () => {
  f = await createFixture();
  const { privateKey } = generateKeyPairSync("ec", { namedCurve: "prime256v1" });
  const key = loadRegistrySigningKey(privateKey.export({ type: "pkcs8", format: "pem" }).toString());
  deps = {
    ...f.deps,
    imageResolver: createImageResolver({
      host: HOST,
      url: `http://${HOST}`,
      key,
      issuer: "berth",
      service: "berth-registry",
      timeoutMs: 2_000,
    }),
  };
});
afterAll(() => f.close());

const withImage = (image: string) => {
  const t = template(100, 64 * MiB, 0);
  return { ...t, containers: t.containers.map((c) => ({ ...c, image })) };
};

async function setup(name: string, image: string) {
  const ref = await insertTenantAndCluster(f);
  await insertNode(f, ref, "n1", { cpuMillis: 8_000, memoryBytes: 8 * 1024 * MiB, pods: 20 });
  const t = withImage(image);
  const id = await insertDeployment(f, ref, name, 2, t);
  return { ref, id, hash: hashOf(t) };
}

const podImages = async (id: string) =>
  (await withSystem(f.deps.db, (tx) => tx.select().from(pods).where(eq(pods.deploymentId, id)))).map(
    (p) => p.template.containers[0]?.image,
  );

describe("pinning tags of Berth's registry", () => {
  it("names the registry's tagged images only, and puts pins into a template", () => {
    const t = withImage(`${HOST}/ten_a/web:v1`);
    const both = {
      ...t,
      initContainers: [
        { ...t.containers[0], name: "init", image: `${HOST}/library/tool@sha256:${"a".repeat(64)}` },
      ],
      containers: [
        ...t.containers,
        { ...t.containers[0], name: "side", image: "localhost/berth/demo-web:latest" },
      ],
    } as typeof t;
    expect([...tagsToPin(both, HOST).keys()]).toEqual([`${HOST}/ten_a/web:v1`]);
    const pinned = pinTemplate(both, {
      [`${HOST}/ten_a/web:v1`]: `${HOST}/ten_a/web@sha256:${"b".repeat(64)}`,
    });
    expect(pinned.containers.map((c) => c.image)).toEqual([
      `${HOST}/ten_a/web@sha256:${"b".repeat(64)}`,
      "localhost/berth/demo-web:latest",
    ]);
    expect(pinned.initContainers?.[0]?.image).toBe(both.initContainers?.[0]?.image);
  });

  it("a registry that refuses: one Warning event, the revision made with the tag, its pods pull the tag", async () => {
    const image = `${HOST}/ten_a/web:v1`;
    const { ref, id, hash } = await setup("down", image);
    await reconcileCluster(deps, ref);
    await reconcileCluster(deps, ref);
    const d = await deploymentRow(f, id);
    expect(d.imagePins).toEqual({ hash, images: {}, failed: [image] });
    const revisions = await withSystem(f.deps.db, (tx) => revisionsOf(tx, id));
    expect(revisions.map((r) => [r.revision, r.images])).toEqual([[1, {}]]);
    expect(await podImages(id)).toEqual([image, image]);
    const warnings = await withSystem(f.deps.db, (tx) =>
      tx
        .select()
        .from(events)
        .where(and(eq(events.clusterId, ref.clusterId), eq(events.reason, "FailedToResolveImage"))),
    );
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatchObject({ type: "Warning", objectKind: "Deployment", count: 1 });
    expect(warnings[0]?.message).toContain(`could not resolve ${image} to a digest`);
  });

  it("makes the revision from pins recorded before a crash, without asking the registry again", async () => {
    const image = `${HOST}/ten_a/web:v2`;
    const pinned = `${HOST}/ten_a/web@sha256:${"c".repeat(64)}`;
    const { ref, id, hash } = await setup("resumed", image);
    // What the pre-step wrote before the process died (the registry is unreachable now).
    await withSystem(f.deps.db, (tx) =>
      tx
        .update(deployments)
        .set({ imagePins: { hash, images: { [image]: pinned }, failed: [] } })
        .where(eq(deployments.id, id)),
    );
    await reconcileCluster(deps, ref);
    const revisions = await withSystem(f.deps.db, (tx) => revisionsOf(tx, id));
    expect(revisions.map((r) => r.images)).toEqual([{ [image]: pinned }]);
    expect(await podImages(id)).toEqual([pinned, pinned]);
    // The deployment keeps the tag as written; the record stays as it was.
    const d = await deploymentRow(f, id);
    expect(d.template.containers[0]?.image).toBe(image);
    expect(d.imagePins).toEqual({ hash, images: { [image]: pinned }, failed: [] });
  });
});
