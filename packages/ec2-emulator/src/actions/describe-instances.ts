import { Ec2Error } from "../errors";
import { instanceFilter } from "../filters";
import { paginate } from "../paging";
import { filters, integer, list, optional, type Params } from "../params";
import { reservationXml } from "../render";
import type { Instance } from "../store";
import { el, items, seq } from "../xml";
import type { ActionContext, ActionHandler } from "./context";

/**
 * The instances named by `InstanceId.N` (all, if none), narrowed by `Filter.N`, one page of
 * `MaxResults` (5–1000, not allowed together with instance ids, as in EC2). Unknown ids fail the
 * whole call with InvalidInstanceID.NotFound. Shared with DescribeInstanceStatus.
 */
export function selectInstances(
  ctx: ActionContext,
  params: Params,
  keep: (i: Instance) => boolean = () => true,
): { instances: Instance[]; nextToken: string | undefined } {
  const ids = list(params, "InstanceId");
  const maxResults = integer(params, "MaxResults", { min: 5, max: 1000 });
  if (ids.length > 0 && maxResults !== undefined) {
    throw new Ec2Error(
      "InvalidParameterCombination",
      "The parameter instancesSet cannot be used with the parameter maxResults",
    );
  }
  const matches = instanceFilter(filters(params));
  const candidates = ids.length > 0 ? ctx.store.require(ids) : ctx.store.all();
  const page = paginate(
    candidates.filter((i) => keep(i) && matches(i)),
    maxResults,
    optional(params, "NextToken"),
  );
  return { instances: page.items, nextToken: page.nextToken };
}

/** DescribeInstances: a page of instances grouped by reservation, terminated ones included. */
export const describeInstances: ActionHandler = (ctx, params) => {
  const { instances, nextToken } = selectInstances(ctx, params);
  const reservations = new Map<string, Instance[]>();
  for (const instance of instances) {
    const group = reservations.get(instance.reservationId) ?? [];
    group.push(instance);
    reservations.set(instance.reservationId, group);
  }
  return seq(
    items("reservationSet", [...reservations], ([id, group]) => reservationXml(id, group)),
    el("nextToken", nextToken),
  );
};
