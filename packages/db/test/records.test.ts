import { newId } from "@berth/core";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  clusters,
  events,
  objects,
  pods,
  recordEvent,
  recordEvents,
  tenants,
  withSystem,
  withTenant,
} from "../src";
import { createTestDatabase, type TestDatabase } from "../src/testing";

let t: TestDatabase;
const tenantId = newId("tenant");
const clusterId = newId("cluster");
beforeAll(async () => {
  t = await createTestDatabase();
  await withSystem(t.db, async (tx) => {
    await tx.insert(tenants).values({ id: tenantId, name: "records" });
    await tx.insert(clusters).values({ id: clusterId, tenantId, name: "c" });
  });
});
afterAll(() => t.drop());

const event = (message: string, extra: Partial<Parameters<typeof recordEvent>[1]> = {}) =>
  withTenant(t.db, tenantId, (tx) =>
    recordEvent(tx, {
      tenantId,
      clusterId,
      objectKind: "Pod",
      objectName: "web-1",
      namespace: "default",
      objectUid: "pod_1",
      source: "node-1",
      type: "Warning",
      reason: "BackOff",
      message,
      ...extra,
    }),
  );

describe("events deduplicated as Kubernetes does", () => {
  it("counts a repeat of the same object, reason and message instead of storing it again", async () => {
    await event("Back-off restarting failed container");
    await event("Back-off restarting failed container");
    await event("Back-off restarting failed container");
    await event("another message");
    await event("Back-off restarting failed container", { objectName: "web-2", objectUid: "pod_2" });
    const rows = await withTenant(t.db, tenantId, (tx) => tx.select().from(events).orderBy(events.id));
    expect(rows.map((r) => [r.objectName, r.message, r.count])).toEqual([
      ["web-1", "Back-off restarting failed container", 3],
      ["web-1", "another message", 1],
      ["web-2", "Back-off restarting failed container", 1],
    ]);
    expect(rows[0]?.lastTimestamp.getTime()).toBeGreaterThanOrEqual(rows[0]?.createdAt.getTime() ?? 0);
    expect(rows[0]).toMatchObject({ namespace: "default", objectUid: "pod_1", source: "node-1" });
  });

  it("stores a repeat anew once the last one is older than ten minutes", async () => {
    await withSystem(t.db, (tx) =>
      tx
        .update(events)
        .set({ lastTimestamp: new Date(Date.now() - 11 * 60_000) })
        .where(eq(events.message, "another message")),
    );
    await event("another message");
    const rows = await withTenant(t.db, tenantId, (tx) =>
      tx.select().from(events).where(eq(events.message, "another message")),
    );
    expect(rows.map((r) => r.count)).toEqual([1, 1]);
  });

  it("keeps callers that give no namespace, uid or source working", async () => {
    await withTenant(t.db, tenantId, (tx) =>
      recordEvent(tx, {
        tenantId,
        clusterId: null,
        objectKind: "Tenant",
        objectName: "records",
        reason: "X",
        message: "y",
      }),
    );
    await withTenant(t.db, tenantId, (tx) =>
      recordEvent(tx, {
        tenantId,
        clusterId: null,
        objectKind: "Tenant",
        objectName: "records",
        reason: "X",
        message: "y",
      }),
    );
    const [row] = await withTenant(t.db, tenantId, (tx) =>
      tx.select().from(events).where(eq(events.objectKind, "Tenant")),
    );
    expect(row).toMatchObject({ count: 2, type: "Normal", namespace: null });
  });
});

describe("events recorded many at once", () => {
  it("stores each new one, counts repeats within the list and of stored ones, in one statement", async () => {
    const node = (name: string, message = "the node agent stopped syncing") => ({
      tenantId,
      clusterId,
      objectKind: "Node",
      objectName: name,
      type: "Warning" as const,
      reason: "NodeNotReady",
      message,
    });
    await withTenant(t.db, tenantId, (tx) => recordEvent(tx, node("n-1")));
    await withTenant(t.db, tenantId, (tx) =>
      recordEvents(tx, [node("n-1"), node("n-2"), node("n-3"), node("n-3"), node("n-2", "other")]),
    );
    await withTenant(t.db, tenantId, (tx) => recordEvents(tx, []));
    const rows = await withTenant(t.db, tenantId, (tx) =>
      tx
        .select()
        .from(events)
        .where(eq(events.objectKind, "Node"))
        .orderBy(events.objectName, events.message),
    );
    expect(rows.map((r) => [r.objectName, r.message, r.count, r.type, r.namespace])).toEqual([
      ["n-1", "the node agent stopped syncing", 2, "Warning", null],
      ["n-2", "other", 1, "Warning", null],
      ["n-2", "the node agent stopped syncing", 1, "Warning", null],
      ["n-3", "the node agent stopped syncing", 2, "Warning", null],
    ]);
  });
});

describe("namespace finalisation", () => {
  it("removes a Terminating namespace when its last pod is deleted, and only then", async () => {
    const template = {
      containers: [],
      nodeSelector: {},
      tolerations: [],
      priority: 0,
      rollout: { maxSurge: 0, maxUnavailable: 0 },
    };
    const pod = (name: string, namespace: string) => ({
      id: newId("pod"),
      tenantId,
      clusterId,
      namespace,
      name,
      templateHash: "h",
      template,
      cpuMillis: 1,
      memoryBytes: 1,
      ownerKind: "Job" as const,
    });
    const [p1, p2, other] = [pod("a", "team"), pod("b", "team"), pod("c", "live")];
    await withTenant(t.db, tenantId, async (tx) => {
      await tx.insert(objects).values([
        {
          id: newId("object"),
          tenantId,
          clusterId,
          kind: "Namespace",
          name: "team",
          deletionTimestamp: new Date(),
        },
        { id: newId("object"), tenantId, clusterId, kind: "Namespace", name: "live" },
      ]);
      await tx.insert(pods).values([p1, p2, other]);
    });
    const namespaces = () =>
      withTenant(t.db, tenantId, async (tx) =>
        (await tx.select().from(objects).where(eq(objects.kind, "Namespace"))).map((o) => o.name).sort(),
      );
    await withTenant(t.db, tenantId, (tx) => tx.delete(pods).where(eq(pods.id, p1.id)));
    expect(await namespaces()).toEqual(["live", "team"]);
    await withTenant(t.db, tenantId, (tx) => tx.delete(pods).where(eq(pods.id, p2.id)));
    expect(await namespaces()).toEqual(["live"]);
    // A namespace that is not terminating stays when its pods go.
    await withSystem(t.db, (tx) => tx.delete(pods).where(eq(pods.id, other.id)));
    expect(await namespaces()).toEqual(["live"]);
  });
});
