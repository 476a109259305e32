/**
 * Groups items by a key, in order, in linear time (Node 20 has no `Map.groupBy`; copying a group's
 * array on every item, `[...(m.get(k) ?? []), x]`, is quadratic in the group's size).
 */
export function groupBy<T, K>(items: Iterable<T>, keyOf: (item: T) => K | undefined): Map<K, T[]> {
  const groups = new Map<K, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    if (key === undefined) continue;
    const group = groups.get(key);
    if (group) group.push(item);
    else groups.set(key, [item]);
  }
  return groups;
}
