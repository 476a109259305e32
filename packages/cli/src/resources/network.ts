import { arr, at, type Json, rec, str } from "../json";
import { labels } from "../output";
import { ageColumn, nameColumn, type Resource, registryResource } from "./resource";

/** kubectl's PORT(S): `80/TCP`, `80:30080/TCP` with a node port, `<none>` for a headless Service without ports. */
const servicePorts = (s: Json) =>
  arr(at(s, "spec.ports"))
    .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${str(p.protocol, "TCP")}`)
    .join(",") || "<none>";

/** kubectl's EXTERNAL-IP: where the Service is served from outside, as its status says. */
const externalIp = (s: Json) => {
  const ingress = arr(at(s, "status.loadBalancer.ingress"));
  if (ingress.length > 0) return ingress.map((i) => str(i.ip) || str(i.hostname)).join(",");
  return str(at(s, "spec.type")) === "LoadBalancer" ? "<pending>" : "<none>";
};

// Worked out from the Services and their pods, never stored: nothing to delete.
const { delete: _never, ...endpointSlices } = registryResource({
  kind: "EndpointSlice",
  names: ["endpointslices", "endpointslice"],
  namespaced: true,
  columns: [
    nameColumn,
    { header: "addresstype", value: (e) => str(e.addressType) },
    {
      header: "ports",
      value: (e) =>
        arr(e.ports)
          .map((p) => String(p.port))
          .join(",") || "<unset>",
    },
    {
      header: "endpoints",
      value: (e) =>
        arr(e.endpoints)
          .flatMap((x) => arr(x.addresses).map(String))
          .join(",") || "<none>",
    },
    ageColumn,
  ],
});

/** Services, NetworkPolicies and the EndpointSlices worked out for the Services. */
export const networkKinds: Resource[] = [
  registryResource({
    kind: "Service",
    names: ["services", "service", "svc"],
    namespaced: true,
    columns: [
      nameColumn,
      { header: "type", value: (s) => str(at(s, "spec.type"), "ClusterIP") },
      // `None` for a headless Service, as kubectl shows it.
      { header: "cluster-ip", value: (s) => str(at(s, "spec.clusterIP"), "<none>") },
      { header: "external-ip", value: externalIp },
      { header: "port(s)", value: servicePorts },
      ageColumn,
      { header: "selector", wide: true, value: (s) => labels(rec(at(s, "spec.selector"))) },
    ],
  }),
  registryResource({
    kind: "NetworkPolicy",
    names: ["networkpolicies", "networkpolicy", "netpol"],
    namespaced: true,
    columns: [
      nameColumn,
      { header: "pod-selector", value: (n) => labels(rec(at(n, "spec.podSelector.matchLabels"))) },
      ageColumn,
    ],
  }),
  endpointSlices,
];
