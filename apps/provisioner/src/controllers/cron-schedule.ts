import type { CronJobSpec } from "@berth/kube";
import { CronExpressionParser } from "cron-parser";

/**
 * A CronJob's schedule as Kubernetes' CronJob controller reads it (cronjob/utils.go): five fields
 * or a macro, in the CronJob's time zone; the most recent schedule time not yet run, and how many
 * were missed; the name of the Job of a schedule time. Pure: the clock is handed in.
 */
const MACROS: Record<string, string> = {
  "@yearly": "0 0 1 1 *",
  "@annually": "0 0 1 1 *",
  "@monthly": "0 0 1 * *",
  "@weekly": "0 0 * * 0",
  "@daily": "0 0 * * *",
  "@midnight": "0 0 * * *",
  "@hourly": "0 * * * *",
};

/** The five-field pattern of a schedule (macros spelled out), as BullMQ's scheduler takes it too. */
export function cronPattern(schedule: string): string {
  const s = schedule.trim();
  return MACROS[s] ?? s;
}

/** `<cronjob>-<scheduled time in minutes since the epoch>`: Kubernetes' name of a scheduled Job. */
export function scheduledJobName(cronJobName: string, scheduledAt: Date): string {
  return `${cronJobName}-${Math.floor(scheduledAt.getTime() / 60_000)}`;
}

type Schedule = Pick<CronJobSpec, "schedule" | "timeZone">;

function parse(s: Schedule, currentDate: Date) {
  return CronExpressionParser.parse(cronPattern(s.schedule), { currentDate, tz: s.timeZone });
}

/** The first schedule time strictly after `at`. */
export function nextScheduleTime(s: Schedule, at: Date): Date {
  return parse(s, at).next().toDate();
}

/** The latest schedule time at or before `at`. */
export function lastScheduleTimeUpTo(s: Schedule, at: Date): Date {
  return parse(s, new Date(at.getTime() + 1))
    .prev()
    .toDate();
}

export type Missed = "none" | "few" | "many";

/**
 * Kubernetes' mostRecentScheduleTime: the latest schedule time after `earliest` (the last one run,
 * else the CronJob's creation; never before `now - startingDeadlineSeconds`) and at or before `now`,
 * or null; and whether more than 100 were missed (Kubernetes then warns, and still runs the latest).
 */
export function mostRecentScheduleTime(
  s: Schedule & Pick<CronJobSpec, "startingDeadlineSeconds">,
  lastScheduled: Date,
  now: Date,
): { time: Date | null; missed: Missed } {
  let earliest = lastScheduled;
  if (s.startingDeadlineSeconds !== undefined) {
    const deadline = new Date(now.getTime() - s.startingDeadlineSeconds * 1000);
    if (deadline > earliest) earliest = deadline;
  }
  const t1 = nextScheduleTime(s, earliest);
  if (now < t1) return { time: null, missed: "none" };
  const t2 = nextScheduleTime(s, t1);
  if (now < t2) return { time: t1, missed: "none" };
  const interval = Math.max(1, t2.getTime() - t1.getTime());
  const count = Math.floor((now.getTime() - t1.getTime()) / interval) + 1;
  return { time: lastScheduleTimeUpTo(s, now), missed: count > 100 ? "many" : "few" };
}

/** RFC 1123 with a numeric zone, as Kubernetes words a missed schedule time. */
export function rfc1123z(at: Date): string {
  const day = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"][at.getUTCDay()];
  const month = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"][
    at.getUTCMonth()
  ];
  const two = (n: number) => String(n).padStart(2, "0");
  return `${day}, ${two(at.getUTCDate())} ${month} ${at.getUTCFullYear()} ${two(at.getUTCHours())}:${two(at.getUTCMinutes())}:${two(at.getUTCSeconds())} +0000`;
}
