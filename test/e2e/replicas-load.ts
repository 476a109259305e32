/**
 * Tenants using Berth through a load balancer while its parts fail: each client signs up, then
 * creates clusters, puts a Deployment in each, lists, and deletes some, over and over. A client
 * retries what failed for want of the service (no answer, 429, 502–504) with back-off, as the SDK
 * does for queries; it retries its mutations too, which is safe because each one is idempotent or
 * keyed by a name: a create retried after an attempt that may have acted answers 409 for the
 * name, and the client then finds its cluster by that name. Every other answer is an error the
 * client did not expect, and the test expects none.
 */
export interface AckedCluster {
  tenant: string;
  id: string;
  name: string;
  /** Its Deployment `default/web` was acknowledged. */
  deployment: boolean;
  /** Its deletion was acknowledged. */
  deleted: boolean;
}

export interface Load {
  /** Creates retried after an attempt that may have acted, answered 409 and found by their name. */
  resolvedByName(): number;
  /** Requests that took more than 3 s to answer. */
  slow: string[];
  /** Acknowledged (2xx) operations, in all. */
  acked(): number;
  /** Failures the clients met and retried, by kind (`network`, `502`, `503`, …). */
  retried: Record<string, number>;
  /** Answers no client should see: any is a failure of the platform. */
  unexpected: string[];
  clusters: Map<string, AckedCluster>;
  tokens: Map<string, string>;
  /** Seconds from `t` until every client has had a request sent after `t` answered with success. */
  servedAgainAfter(t: number): Promise<number>;
  /** Jobs the API enqueued for operations acknowledged after `t`: `provision-<id>`, `delete-<id>`. */
  jobsAcknowledgedSince(t: number): string[];
  stop(): Promise<void>;
}

const RETRYABLE = new Set([429, 502, 503, 504]);
const GIVE_UP_MS = 45_000;

interface Answer {
  status: number;
  body: { [k: string]: unknown };
  /** An earlier attempt may have acted (it failed after the request was sent). */
  ambiguous: boolean;
}

export function startLoad(baseUrl: string, clients: number, runId: string): Load {
  const retried: Record<string, number> = {};
  const unexpected: string[] = [];
  const clusters = new Map<string, AckedCluster>();
  const tokens = new Map<string, string>();
  const createdAt = new Map<string, number>();
  const deletedAt = new Map<string, number>();
  const acks: { client: number; start: number; end: number }[] = [];
  /** Every 2xx answer (reads too), by the time its request was sent. */
  const served: { client: number; start: number; end: number }[] = [];
  const slow: string[] = [];
  let resolvedByName = 0;
  let stopping = false;

  async function send(
    client: number,
    method: string,
    path: string,
    body?: unknown,
    token?: string,
  ): Promise<Answer> {
    const started = Date.now();
    let ambiguous = false;
    for (let attempt = 0; ; attempt++) {
      let kind: string;
      const sentAt = Date.now();
      try {
        const res = await fetch(`${baseUrl}${path}`, {
          method,
          headers: {
            ...(body === undefined ? {} : { "content-type": "application/json" }),
            ...(token ? { authorization: `Bearer ${token}` } : {}),
          },
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(15_000),
        });
        const text = await res.text();
        if (Date.now() - sentAt > 3_000)
          slow.push(`${method} ${path} ${res.status} ${Date.now() - sentAt}ms at ${sentAt}`);
        if (res.ok) served.push({ client, start: sentAt, end: Date.now() });
        if (!RETRYABLE.has(res.status)) {
          let parsed: { [k: string]: unknown } = {};
          try {
            parsed = text ? JSON.parse(text) : {};
          } catch {
            parsed = { text };
          }
          return { status: res.status, body: parsed, ambiguous };
        }
        kind = String(res.status);
      } catch (e) {
        kind = "network";
        if (Date.now() - sentAt > 3_000)
          slow.push(`${method} ${path} ${String(e)} ${Date.now() - sentAt}ms at ${sentAt}`);
      }
      retried[kind] = (retried[kind] ?? 0) + 1;
      ambiguous = true;
      if (Date.now() - started > GIVE_UP_MS) return { status: 0, body: { kind }, ambiguous };
      const ceiling = Math.min(1_000, 100 * 2 ** attempt);
      await new Promise((r) => setTimeout(r, ceiling / 2 + Math.random() * (ceiling / 2)));
    }
  }

  function expect(op: string, a: Answer, ...ok: number[]): boolean {
    if (ok.includes(a.status)) return true;
    unexpected.push(`${op}: ${a.status} ${JSON.stringify(a.body).slice(0, 300)}`);
    return false;
  }

  async function client(n: number): Promise<void> {
    const tenant = `rep-${runId}-${n}`;
    const email = `${tenant}@example.test`;
    const password = "correct horse battery staple";
    const acked = (start: number) => acks.push({ client: n, start, end: Date.now() });
    let start = Date.now();
    const s = await send(n, "POST", "/v1/signup", { tenantName: tenant, email, password });
    // 409 after an attempt that may have acted: that attempt signed the tenant up.
    if (!(s.status === 409 && s.ambiguous) && !expect("signup", s, 201)) return;
    acked(start);
    start = Date.now();
    const t = await send(n, "POST", "/v1/auth/token", { email, password });
    if (!expect("token", t, 200)) return;
    acked(start);
    const token = t.body.accessToken as string;
    tokens.set(tenant, token);
    let kept = 0;
    for (let i = 0; !stopping; i++) {
      const name = `c${i}`;
      start = Date.now();
      const c = await send(n, "POST", "/v1/clusters", { name }, token);
      let id: string | undefined;
      if (c.status === 202) id = c.body.id as string;
      else if (c.status === 409 && c.ambiguous) {
        const list = await send(n, "GET", "/v1/clusters?limit=100", undefined, token);
        const items = (list.body.items ?? []) as { id: string; name: string; status: string }[];
        id = items.find((x) => x.name === name && x.status !== "deleted")?.id;
        resolvedByName++;
        if (!id) unexpected.push(`create ${name}: 409 and no such cluster`);
      } else expect(`create ${name}`, c, 202);
      if (!id) return;
      const cluster: AckedCluster = { tenant, id, name, deployment: false, deleted: false };
      clusters.set(id, cluster);
      createdAt.set(id, Date.now());
      acked(start);

      // Workloads need an active cluster: the client waits for it, as `berth clusters create --wait` does.
      if (!(await activeOrGone(n, id, token))) return;

      start = Date.now();
      const d = await send(n, "PUT", `/v1/clusters/${id}/deployments/default/web`, DEPLOYMENT, token);
      if (!expect(`deployment in ${id}`, d, 200, 201)) return;
      cluster.deployment = true;
      acked(start);

      start = Date.now();
      if (!expect("list", await send(n, "GET", "/v1/clusters?limit=100", undefined, token), 200)) return;
      acked(start);

      // Every other cluster is deleted at once; at most 4 are kept (a tenant may have 10 live).
      if (i % 2 === 1 || kept >= 4) {
        start = Date.now();
        if (
          !expect(`delete ${id}`, await send(n, "DELETE", `/v1/clusters/${id}`, undefined, token), 200, 202)
        )
          return;
        cluster.deleted = true;
        deletedAt.set(id, Date.now());
        acked(start);
      } else kept++;
    }
  }

  async function activeOrGone(n: number, id: string, token: string): Promise<boolean> {
    const deadline = Date.now() + GIVE_UP_MS;
    for (;;) {
      const g = await send(n, "GET", `/v1/clusters/${id}`, undefined, token);
      if (!expect(`get ${id}`, g, 200)) return false;
      if (g.body.status === "active") return true;
      if (g.body.status !== "provisioning" || Date.now() > deadline) {
        unexpected.push(`cluster ${id} is ${String(g.body.status)}, not active`);
        return false;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  const running = Array.from({ length: clients }, (_, n) =>
    client(n).catch((e: unknown) => {
      unexpected.push(`client ${n} threw: ${String(e)}`);
    }),
  );
  return {
    acked: () => acks.length,
    resolvedByName: () => resolvedByName,
    slow,
    retried,
    unexpected,
    clusters,
    tokens,
    jobsAcknowledgedSince: (t) => [
      ...[...createdAt].filter(([, at]) => at > t).map(([id]) => `provision-${id}`),
      ...[...deletedAt].filter(([, at]) => at > t).map(([id]) => `delete-${id}`),
    ],
    async servedAgainAfter(t) {
      for (;;) {
        const after = served.filter((a) => a.start >= t);
        const who = new Set(after.map((a) => a.client));
        if (who.size === clients) {
          const latest = Math.max(
            ...[...who].map((c) => Math.min(...after.filter((a) => a.client === c).map((a) => a.end))),
          );
          return (latest - t) / 1000;
        }
        if (Date.now() - t > GIVE_UP_MS)
          throw new Error(
            `clients not served again within ${GIVE_UP_MS} ms; unexpected answers: ${JSON.stringify(unexpected)}`,
          );
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      stopping = true;
      await Promise.all(running);
    },
  };
}

const DEPLOYMENT = {
  spec: {
    replicas: 1,
    template: {
      spec: {
        containers: [
          {
            name: "web",
            image: "localhost/berth/demo-web:latest",
            resources: { requests: { cpu: "10m", memory: "16Mi" } },
          },
        ],
      },
    },
  },
};
