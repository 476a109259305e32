import { boolean } from "../params";
import { stateXml } from "../render";
import type { Instance } from "../store";
import { el, items, seq, type Xml } from "../xml";
import type { ActionHandler } from "./context";
import { selectInstances } from "./describe-instances";

/** A running emulated machine always passes its reachability checks; others have none. */
function summary(i: Instance): Xml {
  if (i.state !== "running") return el("status", "not-applicable");
  return seq(
    el("status", "ok"),
    items("details", ["reachability"], (name) => seq(el("name", name), el("status", "passed"))),
  );
}

/**
 * DescribeInstanceStatus: running instances only, unless `IncludeAllInstances=true`; same ids,
 * filters and paging rules as DescribeInstances.
 */
export const describeInstanceStatus: ActionHandler = (ctx, params) => {
  const includeAll = boolean(params, "IncludeAllInstances") ?? false;
  const { instances, nextToken } = selectInstances(ctx, params, (i) => includeAll || i.state === "running");
  return seq(
    items("instanceStatusSet", instances, (i) =>
      seq(
        el("instanceId", i.instanceId),
        el("availabilityZone", i.availabilityZone),
        el("instanceState", stateXml(i.state)),
        el("systemStatus", summary(i)),
        el("instanceStatus", summary(i)),
      ),
    ),
    el("nextToken", nextToken),
  );
};
