import { objects, withSystem } from "@berth/db";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestApi, type TestApi } from "../src/testing";
import { tenantWithCluster, userWith } from "./workload-support";

/** Secrets: sealed at rest, hidden in every answer but one, which needs its own IAM action. */
// biome-ignore lint/suspicious/noExplicitAny: tests read JSON replies freely; the assertions check them
type J = any;
const PASSWORD = "s3cr3t-Pa55w0rd";
const TOKEN_VALUE = "tok-987654321";
const b64 = (s: string) => Buffer.from(s).toString("base64");
const SECRET_TEXTS = [PASSWORD, TOKEN_VALUE, b64(PASSWORD), b64(TOKEN_VALUE)];

const logLines: string[] = [];
let api: TestApi;
let t: Awaited<ReturnType<typeof tenantWithCluster>>;
let base: string;
beforeAll(async () => {
  api = await createTestApi({ logTo: { write: (line) => void logLines.push(line) } });
  t = await tenantWithCluster(api, "secrets");
  base = `/v1/clusters/${t.clusterId}`;
  const put = await api.call("PUT", `${base}/secrets/default/db`, {
    token: t.token,
    body: {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "db", labels: { app: "web" } },
      type: "Opaque",
      stringData: { password: PASSWORD },
      data: { token: b64(TOKEN_VALUE) },
    },
  });
  expect(put.status, put.text).toBe(200);
});
afterAll(() => api.close());

const expectNoValues = (text: string, where: string) => {
  for (const s of SECRET_TEXTS) expect(text, `${where} holds a secret value`).not.toContain(s);
};

describe("secret values at rest", () => {
  it("stores them sealed: no column of the row holds them, in clear or in base64", async () => {
    const [row] = await withSystem(api.deps.db, (tx) =>
      tx.select().from(objects).where(eq(objects.name, "db")),
    );
    expect(row?.spec).toEqual({ type: "Opaque", immutable: false, keys: ["password", "token"] });
    expect(row?.dataEnc).toEqual(expect.any(String));
    expectNoValues(JSON.stringify(row), "the database row");
  });
});

describe("secret values in answers", () => {
  it("hides them in GET and list: keys with empty values and an annotation saying so", async () => {
    const got = await api.call("GET", `${base}/secrets/default/db`, { token: t.token });
    expect(got.body).toMatchObject({
      kind: "Secret",
      type: "Opaque",
      data: { password: "", token: "" },
      metadata: { annotations: { "berth.io/data-redacted": "true" } },
    });
    const list = await api.call("GET", `${base}/secrets`, { token: t.token });
    expect(list.body.items[0].data).toEqual({ password: "", token: "" });
    const put = await api.call("PUT", `${base}/secrets/default/db`, { token: t.token, body: got.body });
    for (const r of [got, list, put]) expectNoValues(r.text, "an answer");
  });

  it("keeps the values when a redacted GET is edited and PUT back", async () => {
    const got = await api.call("GET", `${base}/secrets/default/db`, { token: t.token });
    const edited = { ...got.body, metadata: { ...got.body.metadata, labels: { app: "web", tier: "db" } } };
    const put = await api.call("PUT", `${base}/secrets/default/db`, { token: t.token, body: edited });
    expect(put.status, put.text).toBe(200);
    const revealed = await api.call("GET", `${base}/secrets/default/db/data`, { token: t.token });
    expect(revealed.body.data).toEqual({ password: b64(PASSWORD), token: b64(TOKEN_VALUE) });
    expect(revealed.body.metadata.labels).toEqual({ app: "web", tier: "db" });
    expect(revealed.body.metadata.annotations["berth.io/data-redacted"]).toBeUndefined();
  });

  it("answers the values only with secret:ReadValue, which ReadOnlyAccess does not give", async () => {
    const viewer = await userWith(api, t.token, "ReadOnlyAccess");
    expect((await api.call("GET", `${base}/secrets/default/db`, { token: viewer })).status).toBe(200);
    const refused = await api.call("GET", `${base}/secrets/default/db/data`, { token: viewer });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(
      /not allowed to secret:ReadValue on brn:berth:.*:cluster\/.*\/namespace\/default\/secret\/db/,
    );
    const reader = await userWith(api, t.token, {
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Action: "secret:ReadValue",
          Resource: `brn:berth:${t.tenantId}:cluster/${t.clusterId}/namespace/default/secret/db`,
        },
      ],
    });
    const ok = await api.call("GET", `${base}/secrets/default/db/data`, { token: reader });
    expect(ok.status, ok.text).toBe(200);
    expect(Buffer.from(ok.body.data.password, "base64").toString()).toBe(PASSWORD);
    // ... and nothing else: not even the redacted GET.
    expect((await api.call("GET", `${base}/secrets/default/db`, { token: reader })).status).toBe(403);
  });

  it("never puts them in events, the audit log, error messages or the API's log", async () => {
    const bad = await api.call("PUT", `${base}/secrets/default/bad`, {
      token: t.token,
      body: { data: { password: `${PASSWORD}!` } },
    });
    expect(bad.status).toBe(400);
    expect(bad.body.error.message).toBe("data.password: must be base64");
    const edit = await api.call("PUT", `${base}/secrets/default/db`, {
      token: t.token,
      body: { stringData: { password: `${PASSWORD}-2`, token: TOKEN_VALUE } },
    });
    expect(edit.status).toBe(200);
    const events = await api.call("GET", `${base}/events?involvedObject=Secret/db`, { token: t.token });
    expect(events.body.items.map((e: J) => e.reason)).toEqual(["Updated", "Updated", "Created"]);
    // Paths only (this PUT also dropped the labels): never a value.
    expect(events.body.items[0].message).toBe(
      "configured Secret default/db: data.password, metadata.labels.app, metadata.labels.tier",
    );
    const audit = await api.call("GET", "/v1/audit-events?limit=500", { token: t.token });
    expect(audit.body.items.some((a: J) => a.action === "secret:ReadValue" && a.result === "success")).toBe(
      true,
    );
    for (const [text, where] of [
      [bad.text, "an error"],
      [events.text, "events"],
      [audit.text, "the audit log"],
      [logLines.join("\n"), "the API's log"],
    ] as const)
      expectNoValues(text, where);
  });

  it("refuses to change an immutable Secret's data", async () => {
    const body = { stringData: { k: "v" }, immutable: true };
    expect((await api.call("PUT", `${base}/secrets/default/frozen`, { token: t.token, body })).status).toBe(
      200,
    );
    const r = await api.call("PUT", `${base}/secrets/default/frozen`, {
      token: t.token,
      body: { stringData: { k: "w" }, immutable: true },
    });
    expect(r.status).toBe(400);
    expect(r.body.error.message).toBe("data: field is immutable when `immutable` is set");
  });
});

describe("a new cluster's first Secrets written at once", () => {
  it("all succeed and all stay readable: the cluster's data key is made once", async () => {
    const fresh = await tenantWithCluster(api, "secrets-race");
    const at = `/v1/clusters/${fresh.clusterId}/secrets/default`;
    // Six writers of the same Secret and six of others, all at once, before any data key exists.
    const writes = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        api.call("PUT", `${at}/${i < 6 ? "same" : `other-${i}`}`, {
          token: fresh.token,
          body: { stringData: { password: `v${i}` } },
        }),
      ),
    );
    expect(writes.map((w) => w.status)).toEqual(Array(12).fill(200));
    for (let i = 6; i < 12; i++) {
      const revealed = await api.call("GET", `${at}/other-${i}/data`, { token: fresh.token });
      expect(revealed.body.data).toEqual({ password: b64(`v${i}`) });
    }
    const same = await api.call("GET", `${at}/same/data`, { token: fresh.token });
    expect(Buffer.from(same.body.data.password, "base64").toString()).toMatch(/^v[0-5]$/);
  });
});
