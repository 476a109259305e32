/**
 * Bytes as Kubernetes prints a binary quantity: `310Mi`, `1Gi`, `1536Mi`, `512Ki`. A larger unit
 * is used when the amount is a whole number of it or at least ten of it (then rounded).
 */
export function formatBytes(bytes: number): string {
  const units = ["Ki", "Mi", "Gi", "Ti"] as const;
  let value = bytes;
  let unit = "";
  for (const next of units) {
    if (value < 1024 || (value % 1024 !== 0 && value < 10 * 1024)) break;
    value /= 1024;
    unit = next;
  }
  return `${Math.round(value)}${unit}`;
}
