import { ValidationError } from "./errors";

/**
 * Kubernetes resource quantities, parsed exactly into integers: CPU into millicores ("250m", "0.5",
 * "2"), memory into bytes ("64Mi", "1G", "512000"). Fractions that do not land on a whole unit are
 * rejected rather than rounded.
 */
const CPU = /^(\d+)(?:\.(\d{1,3}))?(m?)$/;

export function parseCpuMillis(value: string | number, path = "cpu"): number {
  const text = String(value).trim();
  const m = CPU.exec(text);
  if (!m)
    throw new ValidationError(
      `${path}: ${JSON.stringify(text)} is not a CPU quantity (e.g. "250m", "0.5", "2")`,
    );
  const [, whole = "0", frac = "", milli] = m;
  if (milli && frac) throw new ValidationError(`${path}: fractional millicores are not allowed`);
  const millis = milli ? Number(whole) : Number(whole) * 1000 + Number(frac.padEnd(3, "0"));
  if (!Number.isSafeInteger(millis)) throw new ValidationError(`${path}: ${text} is too large`);
  return millis;
}

const MEM = /^(\d+)(?:\.(\d+))?(Ki|Mi|Gi|Ti|k|K|M|G|T)?$/;
const MEM_FACTORS: Record<string, bigint> = {
  "": 1n,
  k: 1000n,
  K: 1000n,
  M: 1000n ** 2n,
  G: 1000n ** 3n,
  T: 1000n ** 4n,
  Ki: 1024n,
  Mi: 1024n ** 2n,
  Gi: 1024n ** 3n,
  Ti: 1024n ** 4n,
};

export function parseMemoryBytes(value: string | number, path = "memory"): number {
  const text = String(value).trim();
  const m = MEM.exec(text);
  if (!m)
    throw new ValidationError(
      `${path}: ${JSON.stringify(text)} is not a memory quantity (e.g. "64Mi", "1Gi")`,
    );
  const [, whole = "0", frac = "", unit = ""] = m;
  const factor = MEM_FACTORS[unit] ?? 1n;
  const scale = 10n ** BigInt(frac.length);
  const scaled = (BigInt(whole) * scale + BigInt(frac || "0")) * factor;
  if (scaled % scale !== 0n)
    throw new ValidationError(`${path}: ${JSON.stringify(text)} is not a whole number of bytes`);
  const bytes = scaled / scale;
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new ValidationError(`${path}: ${text} is too large`);
  return Number(bytes);
}

export function formatCpuMillis(millis: number): string {
  return millis % 1000 === 0 ? String(millis / 1000) : `${millis}m`;
}

export function formatMemoryBytes(bytes: number): string {
  for (const unit of ["Ti", "Gi", "Mi", "Ki"] as const) {
    const f = Number(MEM_FACTORS[unit]);
    if (bytes >= f && bytes % f === 0) return `${bytes / f}${unit}`;
  }
  return String(bytes);
}
