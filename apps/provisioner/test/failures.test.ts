import { BerthError, UnavailableError } from "@berth/core";
import { clusters, events, withSystem } from "@berth/db";
import { UnrecoverableError } from "bullmq";
import { and, eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { settleFailure } from "../src/exhausted";
import { failureMessage, isPermanent } from "../src/failures";
import { createFixture, type Fixture, insertTenantAndCluster } from "./fixtures";

/** A failed attempt: retried while retrying may help, a visible failure once it cannot. */
let f: Fixture;
beforeAll(async () => {
  f = await createFixture();
});
afterAll(() => f.close());

const cluster = async (id: string) => {
  const [c] = await withSystem(f.deps.db, (tx) => tx.select().from(clusters).where(eq(clusters.id, id)));
  return c;
};
const provisionAttempt = (payload: unknown, attemptsMade: number) => ({
  name: "cluster.provision" as const,
  payload,
  attemptsMade,
  attempts: 10,
});
const refused = () =>
  new BerthError("VALIDATION_FAILED", "EC2 RunInstances failed: InvalidAMIID.Malformed", {
    retryable: false,
  });

describe("a failed job attempt", () => {
  it("with a permanent error is not retried, and provisioning fails at once with the reason and an event", async () => {
    const ref = await insertTenantAndCluster(f, "provisioning");
    const thrown = await settleFailure(f.deps, provisionAttempt(ref, 0), refused());
    expect(thrown).toBeInstanceOf(UnrecoverableError);
    expect(thrown.message).toBe("EC2 RunInstances failed: InvalidAMIID.Malformed");
    expect(await cluster(ref.clusterId)).toMatchObject({
      status: "failed",
      statusReason: "provisioning failed: EC2 RunInstances failed: InvalidAMIID.Malformed",
    });
    const [event] = await withSystem(f.deps.db, (tx) =>
      tx
        .select()
        .from(events)
        .where(and(eq(events.clusterId, ref.clusterId), eq(events.reason, "ProvisioningFailed"))),
    );
    expect(event?.type).toBe("Warning");
  });

  it("with a retryable error and attempts left is retried, changing nothing", async () => {
    const ref = await insertTenantAndCluster(f, "provisioning");
    const error = new UnavailableError("Postgres is restarting");
    expect(await settleFailure(f.deps, provisionAttempt(ref, 3), error)).toBe(error);
    expect((await cluster(ref.clusterId))?.status).toBe("provisioning");
  });

  it("on its last attempt runs the job's exhausted-retry hook", async () => {
    const ref = await insertTenantAndCluster(f, "provisioning");
    const error = new Error("connection reset");
    expect(await settleFailure(f.deps, provisionAttempt(ref, 9), error)).toBe(error);
    expect(await cluster(ref.clusterId)).toMatchObject({
      status: "failed",
      statusReason: "provisioning failed: connection reset",
    });
  });

  it("of a job without a hook still turns a permanent error into UnrecoverableError", async () => {
    const thrown = await settleFailure(
      f.deps,
      { name: "machines.reconcile", payload: {}, attemptsMade: 0, attempts: 5 },
      refused(),
    );
    expect(thrown).toBeInstanceOf(UnrecoverableError);
  });
});

describe("failure wording", () => {
  it("knows permanent errors by their retryable flag only", () => {
    expect(isPermanent(refused())).toBe(true);
    expect(isPermanent(new UnavailableError("x"))).toBe(false);
    expect(isPermanent(new Error("x"))).toBe(false);
    expect(isPermanent({ retryable: false })).toBe(true);
  });

  it("gives a database error's own words, not drizzle's statement and parameters, and bounds the length", () => {
    const wrapped = new Error("Failed query: insert into pods … params: …", {
      cause: new Error('value "2147484000" is out of range for type integer'),
    });
    expect(failureMessage(wrapped)).toBe('value "2147484000" is out of range for type integer');
    expect(failureMessage(new Error("x".repeat(600)))).toHaveLength(500);
  });
});
