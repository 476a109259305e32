import { createTestApi, type TestApi } from "@berth/control-api/testing";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BerthApiError, createClient, errorCodeOf } from "../src/index";

let api: TestApi;
beforeAll(async () => {
  api = await createTestApi();
});
afterAll(() => api.close());

/** The typed client against the real API, in-process (its fetch goes to the Hono app). */
const inProcess: typeof fetch = async (input, init) => api.app.request(input as string, init);
const client = (token?: string) =>
  createClient({ url: "http://berth.test", ...(token ? { token } : {}), fetch: inProcess });

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

  it("throws BerthApiError with the API's code, status, request id and the fields at fault", async () => {
    const error = await client()
      .auth.signup.mutate({ tenantName: "ok-name", email: "not-an-email", password: "correct horse battery" })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(BerthApiError);
    const e = error as BerthApiError;
    expect(e).toMatchObject({ code: "VALIDATION_FAILED", httpStatus: 400, procedure: "auth.signup" });
    expect(e.requestId).toMatch(/.+/);
    expect(e.issues.map((i) => i.path)).toContain("email");
    expect(e.retryable).toBe(false);
  });

  it("signs in with an API key, and takes a new token when the one it holds is refused", async () => {
    const t = await api.tenant("sdk-keys");
    const admin = client(t.token);
    const key = await admin.apiKeys.create.mutate({ name: "ci" });
    const exchanges: string[] = [];
    let spoil = false;
    const counting: typeof fetch = async (input, init) => {
      if (String(input).includes("/trpc/auth.token")) exchanges.push(String(input));
      else if (spoil) {
        // The token the client holds is refused once, as a token of a rotated signing key would be.
        spoil = false;
        const headers = new Headers(init?.headers);
        headers.set("authorization", `${headers.get("authorization")}x`);
        return inProcess(input, { ...init, headers });
      }
      return inProcess(input, init);
    };
    const berth = createClient({ url: "http://berth.test", apiKey: key.key, fetch: counting });
    expect((await berth.auth.me.query({})).tenantId).toBe(t.tenantId);
    await berth.clusters.list.query({});
    expect(exchanges).toHaveLength(1);
    spoil = true;
    expect((await berth.clusters.list.query({})).items).toEqual([]);
    expect(exchanges).toHaveLength(2);
    const revoked = createClient({ url: "http://berth.test", apiKey: "brk_ak_nope", fetch: inProcess });
    const error = await revoked.clusters.list.query({}).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "UNAUTHENTICATED", procedure: "auth.token" });
  });

  it("retries a query through a network failure with back-off, but never a mutation", async () => {
    const t = await api.tenant("sdk-retry");
    let drops = 0;
    const flaky: typeof fetch = async (input, init) => {
      if (drops > 0) {
        drops -= 1;
        throw new TypeError("fetch failed");
      }
      return inProcess(input, init);
    };
    const berth = createClient({ url: "http://berth.test", token: t.token, fetch: flaky, retryDelayMs: 10 });
    drops = 2;
    expect((await berth.clusters.list.query({})).items).toEqual([]);
    expect(drops).toBe(0);
    drops = 1;
    const failed = await berth.clusters.create.mutate({ name: "once" }).catch((e: unknown) => e);
    expect(failed).toMatchObject({ code: "NETWORK_ERROR", httpStatus: 0, retryable: true });
    expect((await berth.clusters.list.query({})).items).toEqual([]);
    drops = 10;
    const gaveUp = await berth.clusters.list.query({}).catch((e: unknown) => e);
    expect(gaveUp).toMatchObject({ code: "NETWORK_ERROR" });
    expect(drops).toBe(6); // the first try and 3 retries
  });
});
