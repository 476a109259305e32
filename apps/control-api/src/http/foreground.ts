/**
 * Small calls first. The API's event loop is shared by every tenant: while one tenant's large
 * list renders and sends its pages, another tenant's single read must not queue behind it. Every
 * call is "foreground" from its first byte; an expensive one (a large list, see the pipeline)
 * leaves the foreground when it starts its work, and between the slices of that work it waits
 * until no foreground call is in flight — never longer than `MAX_WAIT_MS` a slice, so the large
 * call still progresses under steady small traffic. This is the process-wide counterpart of the
 * per-tenant slots for expensive calls: those bound how many run, this orders them after the rest.
 */
const MAX_WAIT_MS = 20;

let inFlight = 0;
let waiters: (() => void)[] = [];

function release(): void {
  const ready = waiters;
  waiters = [];
  for (const resume of ready) resume();
}

/** Marks a call as in flight in the foreground; the returned function (idempotent) ends that. */
export function enterForeground(): () => void {
  inFlight++;
  let left = false;
  return () => {
    if (left) return;
    left = true;
    inFlight--;
    if (inFlight === 0) release();
  };
}

/** Calls in the foreground now (for tests and metrics). */
export const foregroundCalls = (): number => inFlight;

/**
 * Where a background call may pause: resolves at the next turn of the event loop when nothing is
 * in the foreground, else once the foreground is empty or `MAX_WAIT_MS` has passed.
 */
export function yieldToForeground(): Promise<void> {
  if (inFlight === 0) return new Promise((resume) => setImmediate(resume));
  return new Promise((resume) => {
    const timer = setTimeout(() => {
      waiters = waiters.filter((w) => w !== done);
      resume();
    }, MAX_WAIT_MS);
    const done = () => {
      clearTimeout(timer);
      resume();
    };
    waiters.push(done);
  });
}
