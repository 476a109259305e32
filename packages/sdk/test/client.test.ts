import { createTestApi, type TestApi } from "@berth/control-api/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createClient, errorCodeOf } from "../src/index";

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(() => api.close());

/** The typed client against the real API, in-process (its fetch goes to the Hono app). */
const client = (token?: string) =>
  createClient({
    url: "http://berth.test",
    ...(token ? { token } : {}),
    fetch: async (input, init) => api.app.request(input as string, init),
  });

describe("the SDK", () => {
  it("signs up, signs in and manages clusters with typed calls", async () => {
    const anonymous = client();
    const signup = await anonymous.auth.signup.mutate({
      tenantName: "sdk-co",
      email: "sdk@example.test",
      password: "correct horse battery",
    });
    expect(signup.tenant.name).toBe("sdk-co");
    const { accessToken } = await anonymous.auth.token.mutate({
      email: "sdk@example.test",
      password: "correct horse battery",
    });
    const berth = client(accessToken);
    const created = await berth.clusters.create.mutate({ name: "from-sdk", tags: { env: "dev" } });
    expect(created).toMatchObject({ name: "from-sdk", status: "provisioning", tags: { env: "dev" } });
    const listed = await berth.clusters.list.query({});
    expect(listed.items.map((c) => c.id)).toEqual([created.id]);
    const me = await berth.auth.me.query({});
    expect(me.policies.map((p) => p.name)).toEqual(["AdministratorAccess"]);
  });

  it("surfaces Berth's error codes", async () => {
    const error = await client()
      .auth.signup.mutate({ tenantName: "Bad Name", email: "x@example.test", password: "short" })
      .catch((e: unknown) => e);
    expect(errorCodeOf(error)).toBe("VALIDATION_FAILED");
    const denied = await client("not-a-token")
      .clusters.list.query({})
      .catch((e: unknown) => e);
    expect(errorCodeOf(denied)).toBe("UNAUTHENTICATED");
    expect(errorCodeOf(new Error("plain"))).toBeUndefined();
  });
});
