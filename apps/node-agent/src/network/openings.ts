import { hasClusterIP, type NetworkView } from "@berth/protocol";
import type { Opening } from "./firewall";

const lower = (p: { protocol: "TCP" | "UDP" }): Opening["protocol"] => (p.protocol === "UDP" ? "udp" : "tcp");

/**
 * What a cluster's pods may reach on the host: its DNS address (UDP 53), each clusterIP at its
 * ports with their protocol (a headless Service has none), and — as in Kubernetes — its node ports
 * at the node's address.
 */
export function serviceOpenings(view: NetworkView, nodeAddress: string | undefined): Opening[] {
  return [
    { ip: view.dnsAddress, port: 53, protocol: "udp" },
    ...view.services.flatMap((svc) =>
      hasClusterIP(svc)
        ? svc.ports.map((p) => ({ ip: svc.clusterIP, port: p.port, protocol: lower(p) }))
        : [],
    ),
    ...(nodeAddress
      ? view.services.flatMap((svc) =>
          svc.ports.flatMap((p) =>
            p.nodePort ? [{ ip: nodeAddress, port: p.nodePort, protocol: lower(p) }] : [],
          ),
        )
      : []),
  ];
}
