import { hasClusterIP, type NetworkService, type NetworkView } from "@berth/protocol";
import type { DnsRecord } from "./dns-message";

/**
 * What the cluster says of a name: that it exists, with its records (answers of the type asked, and
 * additional ones — the A records of SRV targets); that it does not exist; or that it is not the
 * cluster's to answer.
 */
export type Lookup =
  | { kind: "found"; answers: DnsRecord[]; additional?: DnsRecord[] }
  | { kind: "missing" }
  | { kind: "outside" };

/** The version of Kubernetes' DNS schema answered (github.com/kubernetes/dns, docs/specification.md). */
export const DNS_SCHEMA_VERSION = "1.0.1";

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** The name of an endpoint under its headless Service: its hostname, else its address with dashes. */
const hostnameOf = (e: { ip: string; hostname?: string | undefined }) =>
  (e.hostname ?? e.ip.replaceAll(".", "-")).toLowerCase();

const found = (answers: DnsRecord[], additional: DnsRecord[] = []): Lookup =>
  answers.length === 0 && additional.length === 0
    ? { kind: "missing" }
    : { kind: "found", answers, additional };

/**
 * The records of Kubernetes' DNS specification (schema 1.0.1) from a node's network view:
 * - `<svc>.<ns>.svc.<zone>`: the clusterIP; for a headless Service, one A record per endpoint
 *   address (ready ones, or all with `publishNotReadyAddresses`), NXDOMAIN when there is none;
 * - `<hostname>.<svc>.<ns>.svc.<zone>` for each endpoint of a headless Service (its pod's
 *   `spec.hostname`, else its address with dashes);
 * - `_<port>._<proto>.<svc>.<ns>.svc.<zone>` SRV for each named port: the Service's name and port,
 *   or for a headless Service each endpoint's name and the port it serves on, their A records added;
 * - PTR for clusterIPs and headless endpoints' addresses, `dns-version.<zone>` TXT, and the
 *   deprecated `<a>-<b>-<c>-<d>.<ns>.pod.<zone>`.
 * Other names of the zone do not exist (NXDOMAIN); an existing name asked for another type has no
 * data (NOERROR, no answer). Names are compared in lower case, as the question is read.
 */
export function lookupName(view: NetworkView, name: string, type: DnsRecord["type"] | "other"): Lookup {
  const zone = view.clusterDomain;
  if (name.endsWith(".in-addr.arpa")) return reverse(view, name, type);
  if (name !== zone && !name.endsWith(`.${zone}`)) return { kind: "outside" };
  const labels = name === zone ? [] : name.slice(0, -(zone.length + 1)).split(".");
  const only = (records: DnsRecord[]) => records.filter((r) => r.type === type);
  if (labels.length === 1 && labels[0] === "dns-version")
    return { kind: "found", answers: only([{ name, type: "TXT", text: DNS_SCHEMA_VERSION }]) };
  if (labels.length === 3 && labels[2] === "pod") {
    const ip = (labels[0] ?? "").replaceAll("-", ".");
    if (!IPV4.test(ip) || (labels[0] ?? "").includes(".")) return { kind: "missing" };
    return { kind: "found", answers: only([{ name, type: "A", address: ip }]) };
  }
  const svcAt = labels.length - 3;
  if (svcAt < 0 || labels[svcAt + 2] !== "svc") return { kind: "missing" };
  const svc = view.services.find((s) => s.name === labels[svcAt] && s.namespace === labels[svcAt + 1]);
  if (!svc) return { kind: "missing" };
  const fqdn = `${svc.name}.${svc.namespace}.svc.${zone}`;
  const head = labels.slice(0, svcAt);
  if (head.length === 0) {
    const records = addressRecords(svc, fqdn);
    return records.length === 0 ? { kind: "missing" } : { kind: "found", answers: only(records) };
  }
  if (head.length === 1 && svc.clusterIP === "None") {
    const records = (svc.addresses ?? [])
      .filter((e) => hostnameOf(e) === head[0])
      .map((e): DnsRecord => ({ name, type: "A", address: e.ip }));
    return records.length === 0 ? { kind: "missing" } : { kind: "found", answers: only(records) };
  }
  if (head.length === 2 && head[0]?.startsWith("_") && head[1]?.startsWith("_")) {
    const port = svc.ports.find(
      (p) => p.name !== "" && `_${p.name}` === head[0] && `_${p.protocol.toLowerCase()}` === head[1],
    );
    if (!port) return { kind: "missing" };
    const { srv, targets } = srvRecords(svc, port, name, fqdn);
    if (srv.length === 0) return { kind: "missing" };
    return type === "SRV" ? found(srv, targets) : { kind: "found", answers: [] };
  }
  return { kind: "missing" };
}

/** The A records of a Service's name: its clusterIP, or a headless Service's endpoint addresses. */
function addressRecords(svc: NetworkService, fqdn: string): DnsRecord[] {
  if (svc.clusterIP === "None")
    return (svc.addresses ?? []).map((e) => ({ name: fqdn, type: "A", address: e.ip }));
  return hasClusterIP(svc) ? [{ name: fqdn, type: "A", address: svc.clusterIP }] : [];
}

function srvRecords(
  svc: NetworkService,
  port: NetworkService["ports"][number],
  name: string,
  fqdn: string,
): { srv: DnsRecord[]; targets: DnsRecord[] } {
  if (svc.clusterIP !== "None") {
    if (!hasClusterIP(svc)) return { srv: [], targets: [] };
    return {
      srv: [{ name, type: "SRV", priority: 0, weight: 100, port: port.port, target: fqdn }],
      targets: addressRecords(svc, fqdn),
    };
  }
  const srv: DnsRecord[] = [];
  const targets: DnsRecord[] = [];
  const weight = Math.max(1, Math.floor(100 / Math.max(1, port.endpoints.length)));
  for (const e of port.endpoints) {
    const target = `${hostnameOf(e)}.${fqdn}`;
    srv.push({ name, type: "SRV", priority: 0, weight, port: e.port, target });
    targets.push({ name: target, type: "A", address: e.ip });
  }
  return { srv, targets };
}

/** PTR records: a clusterIP names its Service, a headless endpoint's address its name under the Service. */
function reverse(view: NetworkView, name: string, type: DnsRecord["type"] | "other"): Lookup {
  const ip = name.slice(0, -".in-addr.arpa".length).split(".").reverse().join(".");
  if (!IPV4.test(ip)) return { kind: "outside" };
  const zone = view.clusterDomain;
  const targets: string[] = [];
  for (const s of view.services) {
    const fqdn = `${s.name}.${s.namespace}.svc.${zone}`;
    if (s.clusterIP === ip) targets.push(fqdn);
    if (s.clusterIP === "None")
      for (const e of s.addresses ?? []) if (e.ip === ip) targets.push(`${hostnameOf(e)}.${fqdn}`);
  }
  if (targets.length === 0) return { kind: "outside" };
  const records = targets.map((target): DnsRecord => ({ name, type: "PTR", target }));
  return { kind: "found", answers: type === "PTR" ? records : [] };
}
