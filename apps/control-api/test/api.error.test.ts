import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";

let api: TestApi;
let token: string;
beforeAll(async () => {
  api = await createTestApi();
  ({ token } = await api.tenant("errors"));
});
afterAll(() => api.close());

/** Every error is the one envelope, and never shows a stack or an internal message. */
function expectEnvelope(r: { status: number; body: unknown; text: string }, status: number, code: string) {
  expect(r.status).toBe(status);
  expect(r.body).toMatchObject({
    error: { code, message: expect.any(String), requestId: expect.any(String) },
  });
  expect(r.text).not.toMatch(/at \w+ \(|\.ts:\d+/);
}

describe("bad input gets a clear 4xx", () => {
  it("rejects a sign-up with a short password, naming the field", async () => {
    const r = await api.call("POST", "/v1/signup", {
      body: { tenantName: "x-co", email: "a@b.test", password: "short" },
    });
    expectEnvelope(r, 400, "VALIDATION_FAILED");
    expect(r.body.error.message).toMatch(/password/);
  });

  it("rejects unknown and server-owned fields instead of storing them", async () => {
    const r = await api.call("POST", "/v1/clusters", {
      token,
      body: { name: "a", status: "active", tenantId: "ten_x" },
    });
    expectEnvelope(r, 400, "VALIDATION_FAILED");
    expect((await api.call("GET", "/v1/clusters", { token })).body.items).toEqual([]);
  });

  it("rejects malformed JSON", async () => {
    expectEnvelope(
      await api.call("POST", "/v1/clusters", { token, body: "{not json" }),
      400,
      "VALIDATION_FAILED",
    );
  });

  it("rejects an unsupported content type with 415", async () => {
    const r = await api.call("POST", "/v1/clusters", {
      token,
      body: "name=a",
      headers: { "content-type": "application/x-www-form-urlencoded" },
    });
    expectEnvelope(r, 415, "UNSUPPORTED_MEDIA_TYPE");
  });

  it("rejects a body over the size limit with 413", async () => {
    const r = await api.call("POST", "/v1/clusters", { token, body: { name: "x".repeat(100_000) } });
    expectEnvelope(r, 413, "PAYLOAD_TOO_LARGE");
  });

  it("reads and bounds a body sent over real HTTP, declared or chunked, as the fetch Request would", async () => {
    const server = await api.listen();
    type Reply = { error: { code: string }; tags: Record<string, string> };
    const post = (body: string | ReadableStream<Uint8Array>, headers: Record<string, string> = {}) =>
      fetch(`${server.url}/v1/clusters`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json", ...headers },
        body,
        ...(body instanceof ReadableStream ? { duplex: "half" } : {}),
      });
    /** A body sent chunked (no Content-Length), in the pieces given. */
    const chunked = (...pieces: Uint8Array[]) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const p of pieces) controller.enqueue(p);
          controller.close();
        },
      });
    try {
      const declared = await post(JSON.stringify({ name: "x".repeat(100_000) }));
      expect([declared.status, ((await declared.json()) as Reply).error.code]).toEqual([
        413,
        "PAYLOAD_TOO_LARGE",
      ]);
      const streamed = await post(
        chunked(...Array.from({ length: 80 }, () => new Uint8Array(1024).fill(32))),
      );
      expect([streamed.status, ((await streamed.json()) as Reply).error.code]).toEqual([
        413,
        "PAYLOAD_TOO_LARGE",
      ]);
      // A byte-order mark is dropped, and a character split between chunks is whole again.
      const name = Buffer.from('{"name":"bom","tags":{"t":"é"}}');
      const at = name.indexOf(0xc3) + 1;
      const ok = await post(
        chunked(new Uint8Array([0xef, 0xbb, 0xbf]), name.subarray(0, at), name.subarray(at)),
      );
      expect(ok.status).toBe(202);
      expect(((await ok.json()) as Reply).tags).toEqual({ t: "é" });
    } finally {
      await server.close();
    }
  });

  it("refuses hostile bodies sent over real HTTP with a 4xx, and another tenant's ids with 404", async () => {
    const server = await api.listen();
    const other = await api.tenant("errors-other");
    const theirs = (await api.call("POST", "/v1/clusters", { token: other.token, body: { name: "theirs" } }))
      .body.id as string;
    const post = (path: string, body: string | Uint8Array) =>
      fetch(`${server.url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body,
      });
    try {
      const hostile: [string, string | Uint8Array][] = [
        ["/v1/clusters", '{"name":"a\u0000b"}'],
        ["/v1/clusters", '{"name":"\ud800"}'],
        ["/v1/clusters", new Uint8Array([0x7b, 0x22, 0x6e, 0x22, 0x3a, 0x22, 0xed, 0xa0, 0x80, 0x22, 0x7d])],
        ["/v1/clusters", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
        ["/v1/clusters", '{"name":"n","tags":{"k":1e309}}'],
        ["/v1/clusters/not-an-id/join-tokens", "{}"],
        ["/v1/clusters/cl_0123456789abcdefghjkmnpqrs/join-tokens", '{"ttlSeconds":1e309}'],
      ];
      for (const [path, body] of hostile) {
        const r = await post(path, body);
        expect(r.status, `${path} ${String(body)}`).toBeGreaterThanOrEqual(400);
        expect(r.status, `${path} ${String(body)}`).toBeLessThan(500);
      }
      const foreign = await post(`/v1/clusters/${theirs}/join-tokens`, "{}");
      expect(foreign.status).toBe(404);
    } finally {
      await server.close();
    }
  });

  it("answers unknown routes with 404 in the envelope", async () => {
    expectEnvelope(await api.call("GET", "/v1/nope"), 404, "ROUTE_NOT_FOUND");
  });

  it("answers an unknown cluster with 404, and an id of the wrong shape with 400", async () => {
    expectEnvelope(
      await api.call("GET", "/v1/clusters/cl_0123456789abcdefghjkmnpqrs", { token }),
      404,
      "NOT_FOUND",
    );
    const malformed = await api.call("GET", "/v1/clusters/cl_doesnotexist", { token });
    expectEnvelope(malformed, 400, "VALIDATION_FAILED");
    expect(malformed.body.error.message).toMatch(/clusterId/);
  });

  it("refuses a duplicate email and a duplicate tenant name with 409", async () => {
    const body = { tenantName: "dupe", email: "dupe@example.test", password: "correct horse battery" };
    expect((await api.call("POST", "/v1/signup", { body })).status).toBe(201);
    expectEnvelope(
      await api.call("POST", "/v1/signup", { body: { ...body, tenantName: "dupe2" } }),
      409,
      "EMAIL_TAKEN",
    );
    expectEnvelope(
      await api.call("POST", "/v1/signup", { body: { ...body, email: "other@example.test" } }),
      409,
      "TENANT_NAME_TAKEN",
    );
  });

  it("refuses a wrong password and an unknown email alike", async () => {
    const wrong = await api.call("POST", "/v1/auth/token", {
      body: { email: "dupe@example.test", password: "not the password" },
    });
    const unknown = await api.call("POST", "/v1/auth/token", {
      body: { email: "nobody@example.test", password: "not the password" },
    });
    expectEnvelope(wrong, 401, "UNAUTHENTICATED");
    expect(unknown.body.error.message).toBe(wrong.body.error.message);
  });

  it("refuses requests without a token, with a tampered token, or with alg none", async () => {
    expectEnvelope(await api.call("GET", "/v1/clusters"), 401, "UNAUTHENTICATED");
    const [h, p, s] = token.split(".");
    const payload = JSON.parse(Buffer.from(p ?? "", "base64url").toString());
    const forged = Buffer.from(JSON.stringify({ ...payload, tid: "ten_other" })).toString("base64url");
    expectEnvelope(
      await api.call("GET", "/v1/clusters", { token: `${h}.${forged}.${s}` }),
      401,
      "UNAUTHENTICATED",
    );
    const none = Buffer.from(JSON.stringify({ alg: "none", typ: "at+jwt" })).toString("base64url");
    expectEnvelope(await api.call("GET", "/v1/clusters", { token: `${none}.${p}.` }), 401, "UNAUTHENTICATED");
  });

  it("rejects a usage range that ends before it starts", async () => {
    const r = await api.call("GET", "/v1/usage?from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z", { token });
    expectEnvelope(r, 400, "VALIDATION_FAILED");
  });

  it("rejects an invalid page size", async () => {
    expectEnvelope(await api.call("GET", "/v1/clusters?limit=100000", { token }), 400, "VALIDATION_FAILED");
  });

  it("maps validation errors over tRPC to 400 with the same code", async () => {
    const res = await api.app.request("/trpc/clusters.create", {
      method: "POST",
      headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
      body: JSON.stringify({ name: "Not A DNS Label" }),
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { error: { data: { code: string }; message: string } };
    expect(body.error.data.code).toBe("VALIDATION_FAILED");
    expect(JSON.stringify(body)).not.toMatch(/stack/);
  });

  it("maps a missing token over tRPC to 401", async () => {
    const res = await api.app.request("/trpc/clusters.list");
    expect(res.status).toBe(401);
  });
});
