import { spawnSync } from "node:child_process";
import type { NetworkPolicies } from "@berth/protocol";
import { describe, expect, it } from "vitest";
import { NO_POLICY_RULES, policyRules } from "./policy-rules";

const chains = { ingress: "BERTH-PI-0a590000-24", egress: "BERTH-PE-0a590000-24" };
const policies: NetworkPolicies = {
  ingress: [
    {
      ip: "10.89.0.2",
      allow: [
        { cidr: "10.89.0.3/32", except: [], ports: [{ protocol: "TCP", port: 8080 }] },
        {
          cidr: "192.0.2.0/24",
          except: ["192.0.2.128/25"],
          ports: [{ protocol: "TCP", port: 8000, endPort: 8080 }],
        },
      ],
    },
  ],
  egress: [
    {
      ip: "10.89.0.3",
      allow: [
        { cidr: "100.64.0.10/32", except: [], ports: [{ protocol: "UDP", port: 53 }] },
        { cidr: "0.0.0.0/0", except: [], ports: null },
      ],
    },
  ],
};

describe("policyRules", () => {
  it("adds nothing while no policy selects a pod", () => {
    expect(policyRules({ ingress: [], egress: [] }, "10.89.0.0/24", "100.64.0.10", chains)).toEqual(
      NO_POLICY_RULES,
    );
  });

  it("returns what each selected pod's entries allow, and drops the rest of its new connections", () => {
    const r = policyRules(policies, "10.89.0.0/24", "100.64.0.10", chains);
    expect(r.forward).toEqual([
      "-m conntrack --ctstate RELATED,ESTABLISHED -j RETURN",
      "-s 10.89.0.0/24 -j BERTH-PE-0a590000-24",
      "-d 10.89.0.0/24 -j BERTH-PI-0a590000-24",
    ]);
    expect(r.input).toEqual(["-s 10.89.0.3/32 -d 100.64.0.10/32 -j BERTH-PE-0a590000-24"]);
    expect(r.ingress).toEqual([
      "-A BERTH-PI-0a590000-24 -d 10.89.0.2/32 -s 10.89.0.3/32 -p tcp --dport 8080 -j RETURN",
      "-A BERTH-PI-0a590000-24 -d 10.89.0.2/32 -s 192.0.2.0/25 -p tcp --dport 8000:8080 -j RETURN",
      "-A BERTH-PI-0a590000-24 -d 10.89.0.2/32 -j DROP",
    ]);
    expect(r.egress).toEqual([
      "-A BERTH-PE-0a590000-24 -s 10.89.0.3/32 -d 100.64.0.10/32 -p udp --dport 53 -j RETURN",
      "-A BERTH-PE-0a590000-24 -s 10.89.0.3/32 -d 0.0.0.0/0 -j RETURN",
      "-A BERTH-PE-0a590000-24 -s 10.89.0.3/32 -j DROP",
    ]);
  });

  it("writes rules iptables-restore accepts (checked with --test, nothing committed)", () => {
    const r = policyRules(policies, "10.89.0.0/24", "100.64.0.10", chains);
    const text = [
      "*filter",
      ":BERTH-TEST-FWD - [0:0]",
      ":BERTH-TEST-IN - [0:0]",
      `:${chains.ingress} - [0:0]`,
      `:${chains.egress} - [0:0]`,
      ...r.forward.map((l) => `-A BERTH-TEST-FWD ${l}`),
      ...r.input.map((l) => `-A BERTH-TEST-IN ${l}`),
      ...r.ingress,
      ...r.egress,
      "COMMIT",
      "",
    ].join("\n");
    const run = spawnSync("iptables-restore", ["-w", "--noflush", "--test"], { input: text });
    expect(run.status, run.stderr?.toString()).toBe(0);
  });
});
