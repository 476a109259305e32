import { text } from "@berth/protocol";
import { z } from "zod";
import { objectMetaSchema } from "../meta";
import type { ResourcePolicy } from "../pod/limit-range";
import { normalisePodTemplate } from "../pod/normalise";
import type { PriorityClassRef } from "../pod/priority";
import { podTemplateInputSchema } from "../pod/spec";
import type { PodTemplate } from "../pod/template";
import { ignored, invalid, labelSelectorSchema } from "./common";

export const jobSpecSchema = z
  .object({
    completions: z.number().int().min(1).max(10_000).optional(),
    parallelism: z.number().int().min(0).max(1_000).optional(),
    backoffLimit: z.number().int().min(0).max(1_000).optional(),
    activeDeadlineSeconds: z
      .number()
      .int()
      .min(1)
      .max(2 ** 31 - 1)
      .optional(),
    ttlSecondsAfterFinished: z
      .number()
      .int()
      .min(0)
      .max(2 ** 31 - 1)
      .optional(),
    completionMode: z
      .literal("NonIndexed", { error: 'only completionMode "NonIndexed" is supported' })
      .optional(),
    suspend: z.boolean().optional(),
    template: podTemplateInputSchema,
    selector: labelSelectorSchema.optional(),
    manualSelector: z.literal(false, { error: "manualSelector is not supported" }).optional(),
    podFailurePolicy: z.never({ error: "podFailurePolicy is not supported" }).optional(),
    backoffLimitPerIndex: z.never({ error: "backoffLimitPerIndex is not supported" }).optional(),
  })
  .strict();

export const jobSchema = z
  .object({
    apiVersion: z.literal("batch/v1").optional(),
    kind: z.literal("Job").optional(),
    metadata: objectMetaSchema.optional(),
    spec: jobSpecSchema,
    status: ignored,
  })
  .strict();
export type JobInput = z.infer<typeof jobSchema>;

export interface JobSpec {
  completions: number;
  parallelism: number;
  backoffLimit: number;
  activeDeadlineSeconds?: number;
  ttlSecondsAfterFinished?: number;
  suspend: boolean;
  template: PodTemplate;
}

/** Admits a Job's spec (also a CronJob's `jobTemplate.spec`), `at` being where it sits. */
export function normaliseJobSpec(
  spec: z.infer<typeof jobSpecSchema>,
  at = "spec",
  policy?: ResourcePolicy,
  priorityClasses?: readonly PriorityClassRef[],
): JobSpec {
  const restart = spec.template.spec.restartPolicy;
  if (restart !== "OnFailure" && restart !== "Never")
    invalid(`${at}.template.spec.restartPolicy`, 'must be "OnFailure" or "Never" for a Job');
  const completions = spec.completions ?? 1;
  const parallelism = spec.parallelism ?? 1;
  const template = normalisePodTemplate(spec.template, {
    at: `${at}.template.spec`,
    replicas: Math.max(1, Math.min(parallelism, completions)),
    ...(policy ? { policy } : {}),
    ...(priorityClasses ? { priorityClasses } : {}),
  });
  return {
    completions,
    parallelism,
    backoffLimit: spec.backoffLimit ?? 6,
    ...(spec.activeDeadlineSeconds !== undefined
      ? { activeDeadlineSeconds: spec.activeDeadlineSeconds }
      : {}),
    ...(spec.ttlSecondsAfterFinished !== undefined
      ? { ttlSecondsAfterFinished: spec.ttlSecondsAfterFinished }
      : {}),
    suspend: spec.suspend ?? false,
    template: { ...template, rollout: { maxSurge: 0, maxUnavailable: 0 } },
  };
}

/** The five-field cron syntax and Kubernetes' macros. */
const CRON_FIELD =
  /^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?(,(\*|[0-9A-Za-z]+(-[0-9A-Za-z]+)?)(\/\d+)?)*$/;
const MACROS = new Set(["@yearly", "@annually", "@monthly", "@weekly", "@daily", "@midnight", "@hourly"]);
export const cronSchedule = text(128, 1).refine((s) => {
  const t = s.trim();
  if (MACROS.has(t)) return true;
  if (/^(TZ|CRON_TZ)=/.test(t)) return false;
  const fields = t.split(/\s+/);
  return fields.length === 5 && fields.every((f) => CRON_FIELD.test(f));
}, "must be a cron schedule of 5 fields (minute hour day-of-month month day-of-week) or a macro such as @hourly; give the time zone in timeZone");

export const cronJobSchema = z
  .object({
    apiVersion: z.literal("batch/v1").optional(),
    kind: z.literal("CronJob").optional(),
    metadata: objectMetaSchema.optional(),
    spec: z
      .object({
        schedule: cronSchedule,
        timeZone: text(64, 1).optional(),
        concurrencyPolicy: z.enum(["Allow", "Forbid", "Replace"]).optional(),
        startingDeadlineSeconds: z
          .number()
          .int()
          .min(1)
          .max(2 ** 31 - 1)
          .optional(),
        successfulJobsHistoryLimit: z.number().int().min(0).max(100).optional(),
        failedJobsHistoryLimit: z.number().int().min(0).max(100).optional(),
        suspend: z.boolean().optional(),
        jobTemplate: z
          .object({
            metadata: z
              .object({
                labels: z.record(z.string(), z.string()).optional(),
                annotations: z.record(z.string(), z.string()).optional(),
                name: ignored,
                creationTimestamp: ignored,
              })
              .strict()
              .optional(),
            spec: jobSpecSchema,
          })
          .strict(),
      })
      .strict(),
    status: ignored,
  })
  .strict();
export type CronJobInput = z.infer<typeof cronJobSchema>;

export interface CronJobSpec {
  schedule: string;
  timeZone: string;
  concurrencyPolicy: "Allow" | "Forbid" | "Replace";
  startingDeadlineSeconds?: number;
  successfulJobsHistoryLimit: number;
  failedJobsHistoryLimit: number;
  suspend: boolean;
  jobTemplate: { labels: Record<string, string>; annotations: Record<string, string>; spec: JobSpec };
}

function validTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function normaliseCronJob(
  c: CronJobInput,
  policy?: ResourcePolicy,
  priorityClasses?: readonly PriorityClassRef[],
): CronJobSpec {
  const tz = c.spec.timeZone ?? "UTC";
  if (!validTimeZone(tz))
    invalid("spec.timeZone", `${JSON.stringify(tz)} is not a time zone of the IANA database`);
  return {
    schedule: c.spec.schedule.trim(),
    timeZone: tz,
    concurrencyPolicy: c.spec.concurrencyPolicy ?? "Allow",
    ...(c.spec.startingDeadlineSeconds !== undefined
      ? { startingDeadlineSeconds: c.spec.startingDeadlineSeconds }
      : {}),
    successfulJobsHistoryLimit: c.spec.successfulJobsHistoryLimit ?? 3,
    failedJobsHistoryLimit: c.spec.failedJobsHistoryLimit ?? 1,
    suspend: c.spec.suspend ?? false,
    jobTemplate: {
      labels: c.spec.jobTemplate.metadata?.labels ?? {},
      annotations: c.spec.jobTemplate.metadata?.annotations ?? {},
      spec: normaliseJobSpec(c.spec.jobTemplate.spec, "spec.jobTemplate.spec", policy, priorityClasses),
    },
  };
}
