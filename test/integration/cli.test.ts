import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { cliRunner } from "./cli-support";
import { type Platform, startPlatform } from "./harness";

/**
 * The real `berth` (its bin, in a child process, with its own config file) against a real control
 * API and provisioner on a port: sign-up and login, a cluster created and waited for, a
 * multi-document apply, get/describe, diff, scale and rollout status, delete — output and exit codes.
 */
let p: Platform;
let server: { url: string; close(): Promise<void> };
let dir: string;
let configPath: string;
let berth: Awaited<ReturnType<typeof cliRunner>>["berth"];
let ok: Awaited<ReturnType<typeof cliRunner>>["ok"];
let start: Awaited<ReturnType<typeof cliRunner>>["start"];

const SHOP = `apiVersion: v1
kind: Namespace
metadata: { name: shop }
---
apiVersion: v1
kind: ConfigMap
metadata: { name: app, namespace: shop }
data: { GREETING: hello }
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: web, namespace: shop }
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: web
          image: localhost/berth/demo-web:latest
          resources: { requests: { cpu: 50m, memory: 16Mi } }
`;

beforeAll(async () => {
  p = await startPlatform();
  server = await p.api.listen();
  dir = await mkdtemp(join(tmpdir(), "berth-cli-"));
  configPath = join(dir, "config", "berth.yaml");
  ({ berth, ok, start } = await cliRunner(configPath, dir));
  await writeFile(join(dir, "shop.yaml"), SHOP);
});
afterAll(async () => {
  await server?.close();
  await p?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe("berth against a real control API", () => {
  const email = "cli@example.test";
  const password = "correct horse battery staple";

  it("signs up and logs in, keeping the session in a 0600 config file", async () => {
    const signup = await ok(
      ["signup", "--server", server.url, "--tenant", "cli-co", "--email", email, "--password-stdin"],
      `${password}\n`,
    );
    expect(signup.stdout).toContain("tenant/cli-co created");
    const login = await ok(
      ["login", "--server", server.url, "--email", email, "--password-stdin", "--name", "local"],
      password,
    );
    expect(login.stdout).toContain(`logged in to ${server.url} as ${email} (context "local")`);
    expect((await stat(configPath)).mode & 0o777).toBe(0o600);
    const config = parse(await readFile(configPath, "utf8"));
    expect(config.currentContext).toBe("local");
    expect(config.contexts[0].credentials.refreshToken).toMatch(/.{10,}/);
    const contexts = await ok(["config", "get-contexts"]);
    expect(contexts.stdout).toMatch(/^CURRENT\s+NAME\s+SERVER/m);
    expect(contexts.stdout).toMatch(/^\*\s+local\s+http:\/\/127\.0\.0\.1:\d+/m);
  });

  it("renews an expired access token with the refresh token, and saves the rotated one", async () => {
    const before = parse(await readFile(configPath, "utf8"));
    before.contexts[0].credentials.accessTokenExpiresAt = new Date(0).toISOString();
    await writeFile(configPath, JSON.stringify(before), { mode: 0o600 });
    const me = await ok(["whoami"]);
    expect(me.stdout).toContain("AdministratorAccess");
    const after = parse(await readFile(configPath, "utf8"));
    expect(after.contexts[0].credentials.refreshToken).not.toBe(before.contexts[0].credentials.refreshToken);
    expect(Date.parse(after.contexts[0].credentials.accessTokenExpiresAt)).toBeGreaterThan(Date.now());
  });

  it("creates a cluster and waits until it is active, with its progress on stderr", async () => {
    const r = await ok(["clusters", "create", "prod"]);
    expect(r.stderr).toMatch(/cluster\/prod created \(cl_[0-9a-z]{26}\)/);
    expect(r.stderr).toMatch(/cluster cl_[0-9a-z]{26}: active \(\d+s\)/);
    expect(r.stdout).toMatch(/^NAME\s+ID\s+STATUS\s+AGE\n/);
    expect(r.stdout).toMatch(/^prod\s+cl_[0-9a-z]{26}\s+active\s+\d+s$/m);
    await ok(["config", "set-context", "--cluster", "prod", "--namespace", "shop"]);
    expect((await ok(["clusters", "list", "-o", "name"])).stdout).toBe("cluster/prod\n");
  });

  it("applies a multi-document YAML file, then diffs it: no differences, then one (exit 1)", async () => {
    const r = await ok(["apply", "-f", dir]);
    expect(r.stdout).toBe("namespace/shop created\nconfigmap/app created\ndeployment/web created\n");
    expect((await ok(["diff", "-f", join(dir, "shop.yaml")])).stdout).toBe("");
    const changed = await berth(["diff", "-f", "-"], SHOP.replace("GREETING: hello", "GREETING: bonjour"));
    expect(changed.code).toBe(1);
    expect(changed.stdout).toBe("~ configmap/app -n shop: data.GREETING\n");
    const dry = await ok(
      ["apply", "--dry-run", "-f", "-"],
      SHOP.replace("GREETING: hello", "GREETING: bonjour"),
    );
    expect(dry.stdout).toContain("configmap/app configured (data.GREETING) (dry run)");
    expect((await ok(["get", "configmap", "app", "-o", "json"])).stdout).toContain('"GREETING": "hello"');
  });

  it("gets services, network policies and endpoint slices as kubectl's tables", async () => {
    const net = `apiVersion: v1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  type: NodePort
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: { name: web-only, namespace: shop }
spec:
  podSelector: { matchLabels: { app: web } }
  policyTypes: [Ingress]
`;
    await ok(["apply", "-f", "-"], net);
    expect((await ok(["get", "svc", "-n", "shop"])).stdout).toMatch(
      /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\nweb\s+NodePort\s+100\.\d+\.\d+\.\d+\s+<none>\s+80:3\d{4}\/TCP\s+\d+s\n$/,
    );
    expect((await ok(["get", "netpol", "-n", "shop"])).stdout).toMatch(
      /^NAME\s+POD-SELECTOR\s+AGE\nweb-only\s+app=web\s+\d+s\n$/,
    );
    // No pod is ready: the Service's one slice is Kubernetes' placeholder.
    expect((await ok(["get", "endpointslices", "-n", "shop"])).stdout).toMatch(
      /^NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE\nweb-[a-z0-9]{5}\s+IPv4\s+<unset>\s+<none>\s+\d+s\n$/,
    );
    await ok(["delete", "-f", "-"], net);
    const headless = `apiVersion: v1
kind: Service
metadata: { name: peers, namespace: shop }
spec:
  clusterIP: None
  selector: { app: web }
  ports: [{ name: dns, port: 53, protocol: UDP }]
`;
    await ok(["apply", "-f", "-"], headless);
    expect((await ok(["get", "svc", "peers", "-n", "shop"])).stdout).toMatch(
      /^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\npeers\s+ClusterIP\s+None\s+<none>\s+53\/UDP\s+\d+s\n$/,
    );
    await ok(["delete", "-f", "-"], headless);
  });

  it("gets deployments and pods as kubectl's tables, and describes a pod with the scheduler's reason", async () => {
    const deployments = await ok(["get", "deployments"]);
    expect(deployments.stdout).toMatch(
      /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\nweb\s+0\/2\s+\d+\s+0\s+\d+s\n$/,
    );
    await p.waitFor(
      "two pods",
      async () =>
        (await berth(["get", "pods", "-o", "name"])).stdout.split("\n").filter(Boolean).length === 2,
    );
    const pods = await ok(["get", "pods"]);
    expect(pods.stdout).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE\n/);
    expect(pods.stdout).toMatch(/^web-[a-z0-9]+-[a-z0-9]{5}\s+0\/1\s+Pending\s+0\s+\d+s$/m);
    const pod = pods.stdout.split("\n")[1]?.split(/\s+/)[0] as string;
    const described = await p.waitFor("the scheduler's verdict", async () => {
      const d = await ok(["describe", "pod", pod]);
      return d.stdout.includes("FailedScheduling") ? d.stdout : undefined;
    });
    expect(described).toMatch(/^Name:\s+web-/m);
    expect(described).toMatch(/^Namespace:\s+shop$/m);
    expect(described).toMatch(/^Status:\s+Pending$/m);
    expect(described).toMatch(/^Reason:\s+Unschedulable$/m);
    expect(described).toMatch(/^Message:\s+0\/0 nodes are available/m);
    expect(described).toMatch(
      /^Events:\n\s+TYPE\s+REASON\s+AGE\s+FROM\s+MESSAGE\n(.|\n)*Warning\s+FailedScheduling/m,
    );
  });

  it("scales the deployment and waits for its rollout, while get -w prints the pods that change", async () => {
    const watching = start(["get", "pods", "-w", "--interval", "1"]);
    try {
      await p.waitFor("the watched list", async () => watching.output().split("\n").length >= 4, 30_000);
      expect((await ok(["scale", "deployment/web", "--replicas", "0"])).stdout).toBe(
        "deployment.apps/web scaled\n",
      );
      expect(parse((await ok(["get", "deploy", "web", "-o", "yaml"])).stdout).spec.replicas).toBe(0);
      const status = await ok(["rollout", "status", "deployment/web", "--timeout", "60s"]);
      expect(status.stdout).toBe('deployment "web" successfully rolled out\n');
      // The two pods once more as they go (kubectl's -w prints a changed or deleted object's row).
      const pods = watching
        .output()
        .split("\n")
        .slice(1, 3)
        .map((l) => l.split(/\s+/)[0] as string);
      await p.waitFor(
        "the pods' rows again",
        async () => pods.every((pod) => watching.output().split(pod).length > 2),
        30_000,
      );
    } finally {
      watching.child.kill();
    }
    const lines = (await watching.done).stdout.split("\n");
    expect(lines[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(lines.filter((l) => l.startsWith("NAME"))).toHaveLength(1);
    expect(lines.slice(1, 3).every((l) => /\sPending\s/.test(l))).toBe(true);
    expect((await ok(["rollout", "history", "deployment", "web"])).stdout).toMatch(
      /REVISION\s+CHANGE-CAUSE\s+PODS\s+CURRENT\n1\s+<none>\s+\d+\s+\*/,
    );
  });

  it("manages the account: tenant, users, API keys (and logging in with one), policies, the simulator, audit, usage", async () => {
    expect(JSON.parse((await ok(["tenant", "get", "-o", "json"])).stdout)).toMatchObject({
      name: "cli-co",
      status: "active",
    });
    const user = await ok(
      ["users", "create", "second@example.test", "--password-stdin"],
      "another correct horse battery",
    );
    expect(user.stdout).toMatch(
      /^EMAIL\s+ID\s+STATUS\s+AGE\nsecond@example\.test\s+usr_[0-9a-z]{26}\s+active\s+\d+s\n$/,
    );
    const userId = user.stdout.split("\n")[1]?.split(/\s+/)[1] as string;
    expect((await ok(["users", "list", "-o", "name"])).stdout.split("\n").sort()).toEqual([
      "",
      `user/${email}`,
      "user/second@example.test",
    ]);
    expect((await ok(["policies", "list"])).stdout).toMatch(
      /^AdministratorAccess\s+AdministratorAccess\s+true$/m,
    );
    const simulated = parse(
      (
        await ok([
          "simulate",
          "--principal",
          userId,
          "--action",
          "cluster:Delete",
          "--resource",
          "brn:berth:x:cluster/y",
        ])
      ).stdout,
    );
    expect(simulated).toMatchObject({ decision: "ImplicitDeny", allowed: false });
    const key = (await ok(["api-keys", "create", "--name", "ci"])).stdout.trim();
    expect(key).toMatch(/^brk_/);
    const withKey = await ok(["login", "--api-key-stdin", "--name", "ci"], key);
    expect(withKey.stdout).toBe(`logged in to ${server.url} with an API key (context "ci")\n`);
    expect((await ok(["whoami"])).stdout).toContain("AdministratorAccess");
    await ok(["config", "use-context", "local"]);
    expect((await ok(["audit", "--action", "cluster:Create"])).stdout).toMatch(
      /^TIME\s+PRINCIPAL\s+ACTION\s+RESULT\s+STATUS\n\S+\s+usr_\S+\s+cluster:Create\s+success\s+202\n$/,
    );
    expect((await ok(["usage", "--group-by", "cluster"])).stdout).toMatch(
      /^CLUSTER\s+AMOUNT\ncl_[0-9a-z]{26}\s+\d+\.\d+ USD\nTOTAL\s+\d+\.\d+ USD\n$/,
    );
    // The running month's draft invoice, listed, read as a table and as the printable page.
    const month = new Date().toISOString().slice(0, 7);
    expect((await ok(["invoices"])).stdout).toMatch(
      new RegExp(
        `^ID\\s+NUMBER\\s+STATUS\\s+PERIOD\\s+TOTAL\\ndraft-${month}\\s+<none>\\s+draft\\s+${month}\\s+\\d+\\.\\d{6} USD\\n`,
      ),
    );
    const draft = (await ok(["invoices", "get", `draft-${month}`])).stdout;
    expect(draft).toMatch(
      new RegExp(`^Draft draft-${month}: ${month}, draft\\n#\\s+USAGE\\s+CLUSTER\\s+METER`),
    );
    expect(draft).toMatch(/\nTOTAL\s+\d+\.\d{6} USD\n$/);
    expect((await ok(["invoices", "get", `draft-${month}`, "-o", "html"])).stdout).toMatch(
      /^<!doctype html>/,
    );
    expect((await ok(["top", "nodes"])).stdout).toMatch(/^(NAME\s+CPU\(CORES\)\s+CPU%|No usage yet)/);
  });

  it("manages budgets and webhooks: create, list, describe with this month's spend, update, events, delete", async () => {
    expect(
      (await ok(["budgets", "create", "team", "--amount", "250", "--thresholds", "50,100"])).stdout,
    ).toMatch(/^budget\/team created \(bud_[0-9a-z]{26}\)\n$/);
    await ok(["budgets", "create", "prod-only", "--amount", "99.50", "--scope", "cluster", "--no-forecast"]);
    expect((await ok(["budgets"])).stdout).toMatch(
      /^NAME\s+AMOUNT\s+SCOPE\s+THRESHOLDS\s+AGE\n(?=[\s\S]*^team\s+250\.000000 USD\s+tenant\s+50%,100%\s+\d+s$)(?=[\s\S]*^prod-only\s+99\.500000 USD\s+cluster cl_[0-9a-z]{26}\s+50%,80%,100%\s+\d+s$)/m,
    );
    const described = (await ok(["budgets", "get", "team"])).stdout;
    expect(described).toMatch(
      /^Budget team \(bud_[0-9a-z]{26}\): 250\.000000 USD a month, tenant\n\d{4}-\d{2}: actual \d+\.\d{6} \([\d.]+%\), forecast/,
    );
    await ok(["budgets", "update", "team", "--amount", "300"]);
    expect(JSON.parse((await ok(["budgets", "get", "team", "-o", "json"])).stdout)).toMatchObject({
      amount: "300.000000",
      thresholds: [50, 100],
      notify: { actual: true, forecast: true },
    });
    expect((await ok(["budgets", "events", "team"])).stdout).toMatch(
      /^LAST SEEN\s+TYPE\s+REASON\s+MESSAGE\n/,
    );
    const bad = await berth(["budgets", "create", "x", "--amount", "-5"]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/^error: VALIDATION_FAILED: amount: /);
    expect((await ok(["budgets", "delete", "prod-only"])).stdout).toBe("budget/prod-only deleted\n");

    const hook = await ok(["webhooks", "create", "--url", "http://127.0.0.1:9/berth"]);
    expect(hook.stdout).toMatch(
      /^webhook\/wh_[0-9a-z]{26} created\nsigning secret \(shown once\): \S{20,}\n$/,
    );
    const hookId = hook.stdout.match(/webhook\/(\S+) created/)?.[1] as string;
    expect((await ok(["webhooks", "list"])).stdout).toMatch(
      new RegExp(
        `^ID\\s+URL\\s+EVENTS\\s+AGE\\n${hookId}\\s+http://127\\.0\\.0\\.1:9/berth\\s+budget\\.threshold\\s+\\d+s\\n$`,
      ),
    );
    expect((await ok(["webhooks", "deliveries", hookId])).stdout).toBe(
      "EVENT   STATUS   ATTEMPTS   ANSWER   AGE\n",
    );
    expect((await berth(["webhooks", "create", "--url", "https://x.test", "--events", "nope"])).code).toBe(2);
    await ok(["webhooks", "delete", hookId]);
    await ok(["budgets", "delete", "team"]);
  });

  it("deletes what the file holds; reading it then is the API's error in one line (exit 1)", async () => {
    const r = await ok(["delete", "-f", join(dir, "shop.yaml")]);
    expect(r.stdout).toBe("deployment/web deleted\nconfigmap/app deleted\nnamespace/shop deleted\n");
    const gone = await berth(["get", "deployment", "web", "-n", "default"]);
    expect(gone.code).toBe(1);
    expect(gone.stderr).toBe('error: NOT_FOUND: deployments.apps "web" not found\n');
  });

  it("answers usage errors with one line, the help and exit 2, and deletes the cluster", async () => {
    const bad = await berth(["get", "pods", "--bogus"]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.split("\n")[0]).toBe("error: unknown option '--bogus'");
    expect(bad.stderr).toContain("Usage: berth get");
    expect(bad.stderr).not.toMatch(/\n\s+at /);
    expect((await berth(["get", "widgets"])).code).toBe(2);
    expect((await ok(["clusters", "delete", "prod", "--wait", "--timeout", "2m"])).stdout).toBe(
      "cluster/prod deleting\n",
    );
    const logout = await ok(["logout"]);
    expect(logout.stdout).toBe('logged out of context "local"\n');
    const after = await berth(["get", "pods"]);
    expect(after.code).toBe(1);
    expect(after.stderr).toBe('error: not logged in to context "local": run `berth login`\n');
  });
});
