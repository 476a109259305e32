/**
 * Crash injection for the "kill -9 at every step" tests: `BERTH_CRASH_AT=<point>` kills this
 * process (SIGKILL: no cleanup, no graceful stop) the first time the point is reached. Unset, it
 * does nothing. The points are listed in CRASH_POINTS so a test can visit every one.
 */
export const CRASH_POINTS = [
  "provision.before-commit",
  "provision.after-commit",
  "machines.after-insert",
  "machines.before-launch",
  "machines.after-launch",
  "delete.after-mark",
  "machines.after-terminate",
  "delete.before-finalize",
] as const;

export function crashpointFrom(target: string | undefined): (name: string) => void {
  if (!target) return () => {};
  return (name) => {
    if (name === target) process.kill(process.pid, "SIGKILL");
  };
}
