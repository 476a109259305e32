import { Ec2Error } from "../errors";
import { list } from "../params";
import { stateXml } from "../render";
import { el, items, seq } from "../xml";
import type { ActionHandler } from "./context";

/**
 * TerminateInstances: every id must exist (else nothing happens); each instance goes to
 * "shutting-down" and its process tree gets SIGTERM, then SIGKILL after the grace time.
 * Terminating an instance again reports its current state, as EC2 does (idempotent).
 */
export const terminateInstances: ActionHandler = (ctx, params) => {
  const ids = list(params, "InstanceId");
  if (ids.length === 0) {
    throw new Ec2Error("MissingParameter", "The request must contain the parameter InstanceId");
  }
  const changes = ctx.lifecycle.terminate(ctx.store.require(ids));
  return items("instancesSet", changes, (c) =>
    seq(
      el("instanceId", c.instanceId),
      el("currentState", stateXml(c.currentState)),
      el("previousState", stateXml(c.previousState)),
    ),
  );
};
