import { z } from "zod";

/** A lone UTF-16 surrogate: not text, and not storable as UTF-8. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Text the database can store as it was sent: no NUL bytes, no lone surrogates. */
export function text(max: number, min = 0) {
  return z
    .string()
    .min(min)
    .max(max)
    .refine((s) => !s.includes("\u0000"), "must not contain NUL bytes")
    .refine((s) => !LONE_SURROGATE.test(s), "must be well-formed Unicode");
}

/** An RFC 1123 DNS label: lower-case alphanumerics and '-', at most 63 characters. */
export const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const dnsLabel = z.string().min(1).max(63).regex(DNS_LABEL, "must be a DNS label");

/** An id of ours: a prefix, an underscore, then letters and digits (never a path or a pattern). */
export const objectId = z
  .string()
  .min(3)
  .max(64)
  .regex(/^[a-z]{1,8}_[0-9a-z_]{1,54}$/, "must be an id");
