import { describe, expect, it } from "vitest";
import { schedulingOrder } from "../src/queue";
import { pod } from "./fixtures";

const ids = (pods: { id: string }[]) => pods.map((p) => p.id);

describe("scheduling order", () => {
  it("tries higher priority first", () => {
    const pods = [pod("low", { priority: 0, createdSeq: 1 }), pod("high", { priority: 100, createdSeq: 2 })];
    expect(ids(schedulingOrder(pods))).toEqual(["high", "low"]);
  });

  it("keeps each tenant's pods first-in first-out by createdSeq, then id", () => {
    const pods = [pod("c", { createdSeq: 3 }), pod("b", { createdSeq: 1 }), pod("a", { createdSeq: 1 })];
    expect(ids(schedulingOrder(pods))).toEqual(["a", "b", "c"]);
  });

  it("takes turns between tenants of equal priority, oldest head first", () => {
    const pods = [
      ...["a1", "a2", "a3", "a4"].map((id, i) => pod(id, { tenantId: "A", createdSeq: i })),
      ...["b1", "b2"].map((id, i) => pod(id, { tenantId: "B", createdSeq: 100 + i })),
      pod("c1", { tenantId: "C", createdSeq: 50 }),
    ];
    expect(ids(schedulingOrder(pods))).toEqual(["a1", "c1", "b1", "a2", "b2", "a3", "a4"]);
  });

  it("does not let a tenant's backlog delay another tenant by more than one turn per pod", () => {
    const big = Array.from({ length: 100_000 }, (_, i) => pod(`a${i}`, { tenantId: "A", createdSeq: i }));
    const small = Array.from({ length: 10 }, (_, i) =>
      pod(`b${i}`, { tenantId: "B", createdSeq: 200_000 + i }),
    );
    const order = ids(schedulingOrder([...big, ...small]));
    expect(order.indexOf("b9")).toBe(19);
  });

  it("does not depend on the input order", () => {
    const pods = [
      pod("x", { tenantId: "B", priority: 1, createdSeq: 5 }),
      pod("y", { tenantId: "A", priority: 1, createdSeq: 5 }),
      pod("z", { tenantId: "A", priority: 0, createdSeq: 1 }),
      pod("w", { tenantId: "C", priority: 1, createdSeq: 2 }),
    ];
    expect(ids(schedulingOrder([...pods].reverse()))).toEqual(ids(schedulingOrder(pods)));
  });
});
