/**
 * Lifecycle hooks (`postStart`, `preStop`) as kubelet's handler runner runs them: `exec` in the
 * container, `httpGet` against it, or `sleep`; a failure is said in kubelet's words
 * (`Exec lifecycle hook ([…]) for Container "web" in Pod "web-…" failed - error: …, message: "…"`).
 */
import type { Handler } from "@berth/protocol";
import { type ContainerRuntime, isRuntimeError } from "../runtime";
import { type CheckTarget, runCheck } from "./check";

/** Null when the hook succeeded, else the message for the FailedPostStartHook/FailedPreStopHook event. */
export async function runHook(
  runtime: ContainerRuntime,
  h: Handler,
  target: CheckTarget,
  who: { container: string; pod: string },
  timeoutMs: number,
): Promise<string | null> {
  if (h.sleep) {
    await new Promise((r) => setTimeout(r, Math.min(h.sleep?.seconds ?? 0, timeoutMs / 1000) * 1000));
    return null;
  }
  if (h.exec) {
    const argv = h.exec.command;
    const failed = (error: string, message: string) =>
      `Exec lifecycle hook ([${argv.join(" ")}]) for Container ${JSON.stringify(who.container)} in Pod ${JSON.stringify(who.pod)} failed - error: ${error}, message: ${JSON.stringify(message)}`;
    try {
      const r = await runtime.execCommand(target.containerId, argv, { timeoutMs });
      if (r.timedOut) return failed(`command '${argv.join(" ")}' timed out`, r.output);
      if (r.exitCode !== 0) return failed(`command '${argv.join(" ")}' exited with ${r.exitCode}`, r.output);
      return null;
    } catch (error) {
      return failed(isRuntimeError(error) ? "the container is not running" : String(error), "");
    }
  }
  if (h.httpGet) {
    const path = h.httpGet.path;
    const outcome = await runCheck(runtime, { httpGet: h.httpGet }, target, timeoutMs);
    if (outcome.result === "failure")
      return `HTTP lifecycle hook (${path}) for Container ${JSON.stringify(who.container)} in Pod ${JSON.stringify(who.pod)} failed - error: ${outcome.output}`;
    return null;
  }
  if (h.tcpSocket) return null; // deprecated for hooks; kubelet accepts it and does nothing
  return null;
}
