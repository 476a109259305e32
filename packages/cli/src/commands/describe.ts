import { stringify } from "yaml";
import { arr, at, type Json, listAll, num, rec, str } from "../json";
import { age, labels, table } from "../output";
import type { Resource } from "../resources";
import { podStatus } from "../resources/objects";
import type { Runtime } from "../runtime";

const indent = (text: string, by = "  ") =>
  text
    .trimEnd()
    .split("\n")
    .map((l) => `${by}${l}`)
    .join("\n");

/** `Key:   value` lines, aligned as kubectl describe aligns them. */
function fields(pairs: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(14, ...pairs.map(([k]) => k.length + 2));
  return pairs
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${`${k}:`.padEnd(width)}${v === null || v === "" ? "<none>" : String(v)}`)
    .join("\n");
}

/** A list of conditions as a table (TYPE STATUS REASON MESSAGE). */
function conditions(list: Json[]): string {
  if (list.length === 0) return "Conditions:  <none>";
  return `Conditions:\n${indent(
    table(
      ["type", "status", "reason", "message"],
      list.map((c) => [str(c.type), str(c.status), str(c.reason), str(c.message)]),
    ),
  )}`;
}

function podDetails(p: Json): string {
  const statuses = arr(at(p, "status.containerStatuses"));
  const containers = arr(at(p, "spec.containers")).map((c) => {
    const s = statuses.find((x) => x.name === c.name) ?? {};
    const state = Object.keys(rec(s.state))[0] ?? "waiting";
    const reason = str(at(s, `state.${state}.reason`));
    return `  ${str(c.name)}:\n${indent(
      fields([
        ["Image", str(c.image)],
        ["State", `${state[0]?.toUpperCase()}${state.slice(1)}${reason ? ` (${reason})` : ""}`],
        ["Ready", String(s.ready === true)],
        ["Restart Count", num(s.restartCount)],
        ["Requests", labels(rec(at(c, "resources.requests")))],
        ["Limits", labels(rec(at(c, "resources.limits")))],
      ]),
      "    ",
    )}`;
  });
  return [
    fields([
      ["Node", str(p.nodeName, "<none>")],
      ["Status", podStatus(p)],
      ["Reason", str(p.reason)],
      ["Message", str(p.message)],
      [
        "Nominated Node",
        at(p, "status.nominatedNodeName") ? str(at(p, "status.nominatedNodeName")) : undefined,
      ],
      ["IP", str(at(p, "status.podIP"))],
      ["Host Ports", arr(p.hostPorts).join(",")],
      ["Priority", at(p, "spec.priority") === undefined ? undefined : num(at(p, "spec.priority"))],
      [
        "Controlled By",
        arr(at(p, "metadata.ownerReferences"))
          .map((o) => `${str(o.kind)}/${str(o.name)}`)
          .join(","),
      ],
    ]),
    `Containers:\n${containers.join("\n")}`,
    conditions(arr(at(p, "status.conditions"))),
  ].join("\n");
}

function deploymentDetails(d: Json): string {
  const s = (k: string) => num(at(d, `status.${k}`));
  return [
    fields([
      ["Selector", labels(rec(at(d, "spec.selector.matchLabels")))],
      [
        "Replicas",
        `${num(at(d, "spec.replicas"))} desired | ${s("updatedReplicas")} updated | ${s("replicas")} total | ${s("availableReplicas")} available | ${s("unavailableReplicas")} unavailable`,
      ],
      ["StrategyType", str(at(d, "spec.strategy.type"))],
      ["Paused", String(at(d, "spec.paused") === true)],
      ["Revision", str(rec(at(d, "metadata.annotations"))["deployment.kubernetes.io/revision"])],
    ]),
    `Pod Template:\n${indent(stringify(at(d, "spec.template")))}`,
    conditions(arr(at(d, "status.conditions"))),
  ].join("\n");
}

/** Spec and status (or the whole object of a platform kind) as indented YAML. */
function genericDetails(o: Json): string {
  const { metadata: _m, apiVersion: _a, kind: _k, ...rest } = o;
  return Object.entries(rest)
    .filter(
      ([, v]) =>
        v !== undefined && v !== null && !(typeof v === "object" && Object.keys(v as object).length === 0),
    )
    .map(([k, v]) =>
      typeof v === "object"
        ? `${k[0]?.toUpperCase()}${k.slice(1)}:\n${indent(stringify(v))}`
        : fields([[`${k[0]?.toUpperCase()}${k.slice(1)}`, v]]),
    )
    .join("\n");
}

async function eventsOf(rt: Runtime, resource: Resource, o: Json): Promise<string> {
  if (resource.scope === "account") return "";
  const name = str(at(o, "metadata.name")) || str(o.name);
  const namespace = str(at(o, "metadata.namespace"));
  const [client, clusterId] = [await rt.client(), await rt.clusterId()];
  const events = (await listAll((cursor) =>
    client.events.list.query({
      clusterId,
      involvedObject: `${resource.kind}/${name}`,
      limit: 500,
      ...(namespace ? { namespace } : {}),
      ...(cursor ? { cursor } : {}),
    }),
  )) as Json[];
  if (events.length === 0) return "Events:  <none>";
  const now = new Date();
  const rows = [...events]
    .reverse()
    .map((e) => [
      str(e.type),
      str(e.reason),
      `${age(str(e.lastTimestamp), now)}${num(e.count, 1) > 1 ? ` (x${num(e.count)})` : ""}`,
      str(at(e, "source.component")),
      str(e.message),
    ]);
  return `Events:\n${indent(table(["type", "reason", "age", "from", "message"], rows))}`;
}

/** `berth describe`: the object's metadata, what matters of its kind, then its events (oldest first). */
export async function describe(rt: Runtime, resource: Resource, o: Json): Promise<string> {
  const metadata = rec(o.metadata) as unknown as Json;
  const created = str(metadata.creationTimestamp) || str(o.createdAt) || str(o.joinedAt);
  const head = fields([
    ["Name", str(metadata.name) || str(o.name)],
    ["Namespace", resource.scope === "namespaced" ? str(metadata.namespace) : undefined],
    ["Kind", resource.kind],
    ["Labels", labels(rec(metadata.labels ?? o.labels))],
    ["Annotations", metadata.annotations ? labels(rec(metadata.annotations)) : undefined],
    ["Created", created ? `${created} (${age(created)} ago)` : undefined],
  ]);
  const body =
    resource.kind === "Pod"
      ? podDetails(o)
      : resource.kind === "Deployment"
        ? deploymentDetails(o)
        : genericDetails(o);
  return [head, body, await eventsOf(rt, resource, o)].filter(Boolean).join("\n");
}
