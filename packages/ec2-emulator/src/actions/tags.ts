import { Ec2Error } from "../errors";
import { valueMatcher } from "../filters";
import { paginate } from "../paging";
import { filters, integer, list, members, optional, type Params, tags } from "../params";
import type { Instance } from "../store";
import { el, items, seq } from "../xml";
import type { ActionContext, ActionHandler } from "./context";

/** `ResourceId.N`: only instances are emulated; any other id is rejected as EC2 rejects unknown ids. */
function resources(ctx: ActionContext, params: Params): Instance[] {
  const ids = list(params, "ResourceId");
  if (ids.length === 0)
    throw new Ec2Error("MissingParameter", "The request must contain the parameter ResourceId");
  const other = ids.find((id) => !id.startsWith("i-"));
  if (other !== undefined) throw new Ec2Error("InvalidID", `The ID '${other}' is not valid`);
  return ctx.store.require(ids);
}

/** CreateTags: adds or overwrites tags on instances (a missing Value is the empty string). */
export const createTags: ActionHandler = (ctx, params) => {
  const targets = resources(ctx, params);
  const toAdd = tags(params);
  if (toAdd.length === 0)
    throw new Ec2Error("MissingParameter", "The request must contain the parameter Tag");
  for (const instance of targets) for (const { key, value } of toAdd) instance.tags.set(key, value);
  return el("return", true);
};

/** DeleteTags: `Tag.N.Key` with an optional `Value` that must match; no tags at all deletes every tag. */
export const deleteTags: ActionHandler = (ctx, params) => {
  const targets = resources(ctx, params);
  const toDelete = members(params, "Tag").map((m) => ({
    key: optional(m.params, "Key") ?? "",
    value: optional(m.params, "Value"),
  }));
  for (const instance of targets) {
    if (toDelete.length === 0) instance.tags.clear();
    for (const { key, value } of toDelete) {
      if (value === undefined || instance.tags.get(key) === value) instance.tags.delete(key);
    }
  }
  return el("return", true);
};

interface TagDescription {
  resourceId: string;
  resourceType: string;
  key: string;
  value: string;
}

const TAG_FIELDS: Record<string, (t: TagDescription) => string> = {
  "resource-id": (t) => t.resourceId,
  "resource-type": (t) => t.resourceType,
  key: (t) => t.key,
  value: (t) => t.value,
};

/** DescribeTags: every instance tag, filtered by resource-id, resource-type, key or value; paged. */
export const describeTags: ActionHandler = (ctx, params) => {
  const predicates = filters(params).map((f) => {
    const get = Object.hasOwn(TAG_FIELDS, f.name) ? TAG_FIELDS[f.name] : undefined;
    if (get === undefined) throw new Ec2Error("InvalidParameterValue", `The filter '${f.name}' is invalid`);
    const matchers = f.values.map(valueMatcher);
    return (t: TagDescription) => matchers.some((m) => m(get(t)));
  });
  const all = ctx.store
    .all()
    .flatMap((i) =>
      [...i.tags].map(([key, value]) => ({ resourceId: i.instanceId, resourceType: "instance", key, value })),
    );
  const page = paginate(
    all.filter((t) => predicates.every((p) => p(t))),
    integer(params, "MaxResults", { min: 5, max: 1000 }),
    optional(params, "NextToken"),
  );
  return seq(
    items("tagSet", page.items, (t) =>
      seq(
        el("resourceId", t.resourceId),
        el("resourceType", t.resourceType),
        el("key", t.key),
        el("value", t.value),
      ),
    ),
    el("nextToken", page.nextToken),
  );
};
