import { describe, expect, it } from "vitest";
import { InspectCache } from "./inspect-cache";
import type { ContainerInfo } from "./types";

const info = (id: string, state: ContainerInfo["state"]): ContainerInfo => ({
  id,
  name: id,
  image: "img",
  labels: { a: "1" },
  state,
  exitCode: null,
  startedAt: null,
  finishedAt: null,
  restartCount: 0,
  ports: [{ containerPort: 80, hostPort: 8080, hostIp: "127.0.0.1", protocol: "tcp" }],
  oomKilled: false,
  ipAddress: null,
  sandboxId: null,
  imageId: "sha256:x",
});

describe("InspectCache", () => {
  it("answers while the list shows the same state, and not after a change or once the answer is old", () => {
    let now = 0;
    const cache = new InspectCache(30_000, () => now);
    cache.set("c1", "running", info("c1", "running"));
    expect(cache.get("c1", "running")?.state).toBe("running");
    expect(cache.get("c1", "exited")).toBeNull();
    now = 30_001;
    expect(cache.get("c1", "running")).toBeNull();
  });

  it("hands out copies, and forgets what no list has shown for a while", () => {
    let now = 0;
    const cache = new InspectCache(10_000, () => now);
    cache.set("c1", "running", info("c1", "running"));
    cache.set("c2", "running", info("c2", "running"));
    const got = cache.get("c1", "running") as ContainerInfo;
    got.labels.a = "changed";
    (got.ports[0] as { hostPort: number }).hostPort = 1;
    expect(cache.get("c1", "running")).toMatchObject({ labels: { a: "1" }, ports: [{ hostPort: 8080 }] });
    now = 8_000;
    cache.get("c1", "running");
    now = 12_000;
    cache.prune();
    expect(cache.size).toBe(1);
  });
});
