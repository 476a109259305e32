/**
 * Bridge networks through the Engine API: one per node, on the subnet the control plane gave the
 * node (else one the engine picks among those free on the host). Podman's `isolate` option is set, but not relied on: with
 * netavark 1.4 a second isolated network could still reach the first (its rules went missing), so
 * the node agent's own firewall keeps networks apart.
 */
import { z } from "zod";
import type { EngineClient } from "./engine-http";
import { responseError } from "./engine-http";
import { type NetworkInfo, RuntimeError } from "./types";

const networkSchema = z.object({
  Name: z.string(),
  IPAM: z.object({
    Config: z.array(z.object({ Subnet: z.string().nullish(), Gateway: z.string().nullish() })).nullish(),
  }),
});

async function inspectNetwork(engine: EngineClient, name: string): Promise<NetworkInfo | null> {
  const res = await engine.request({ method: "GET", path: `/networks/${encodeURIComponent(name)}` });
  if (res.status === 404) return null;
  if (res.status !== 200) throw responseError(res, `inspect network ${name}`);
  const n = networkSchema.parse(JSON.parse(res.body.toString("utf8")));
  const v4 = (n.IPAM.Config ?? []).find((c) => c.Subnet && !c.Subnet.includes(":"));
  if (!v4?.Subnet || !v4.Gateway) throw new RuntimeError("FAILED", `network ${name} has no IPv4 subnet`);
  return { name: n.Name, subnet: v4.Subnet, gateway: v4.Gateway };
}

export async function ensureNetwork(
  engine: EngineClient,
  name: string,
  labels: Record<string, string>,
  subnet?: string,
): Promise<NetworkInfo> {
  const found = await inspectNetwork(engine, name);
  if (found) return found;
  const gateway = subnet?.replace(/\.0\/\d+$/, ".1");
  // Podman's own API first: its networks are made without Podman's resolver (aardvark-dns), which
  // the agent's DNS makes useless and which netavark reloads as containers come and go. Docker's
  // Engine API (which answers that call 404, or 400 for the unknown API version) has no such
  // resolver to turn off.
  let res = await engine.request({
    method: "POST",
    path: "/libpod/networks/create",
    apiVersion: "v4.0.0",
    json: {
      name,
      driver: "bridge",
      dns_enabled: false,
      labels,
      options: { isolate: "true" },
      ...(subnet ? { subnets: [{ subnet, gateway }] } : {}),
    },
  });
  const notPodman = res.status === 404 || (res.status === 400 && /version/i.test(res.body.toString("utf8")));
  if (notPodman)
    res = await engine.request({
      method: "POST",
      path: "/networks/create",
      json: {
        Name: name,
        Driver: "bridge",
        CheckDuplicate: true,
        Labels: labels,
        Options: { isolate: "true" },
        ...(subnet ? { IPAM: { Driver: "default", Config: [{ Subnet: subnet, Gateway: gateway }] } } : {}),
      },
    });
  // 409: another agent of the host made it meanwhile.
  if (res.status !== 201 && res.status !== 200 && res.status !== 409)
    throw responseError(res, `create network ${name}`);
  const made = await inspectNetwork(engine, name);
  if (!made) throw new RuntimeError("FAILED", `network ${name} was created but cannot be found`);
  return made;
}

export async function removeNetwork(engine: EngineClient, name: string): Promise<boolean> {
  const res = await engine.request({ method: "DELETE", path: `/networks/${encodeURIComponent(name)}` });
  // Gone already is as good as removed.
  if (res.status === 204 || res.status === 200 || res.status === 404) return true;
  if (res.status === 409 || res.status === 500) return false;
  throw responseError(res, `remove network ${name}`);
}
