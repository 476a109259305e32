import { setTimeout as sleep } from "node:timers/promises";
import { inheritedEnvironment } from "./env";
import { killTree } from "./process-tree";
import { prepareInstanceDir, runScript } from "./runner";
import type { Instance } from "./store";
import type { InstanceStateName, UserDataRun } from "./types";

export interface LifecycleOptions {
  runUserData: boolean;
  userDataEnv: ((instance: { instanceId: string; index: number }) => Record<string, string>) | undefined;
  pendingMs: number;
  shuttingDownMs: number;
  terminateGraceMs: number;
}

export interface StateChange {
  instanceId: string;
  previousState: InstanceStateName;
  currentState: InstanceStateName;
}

/** "2026-01-02 03:04:05 GMT", the form EC2 uses in `stateTransitionReason`. */
const gmt = (d: Date) => `${d.toISOString().slice(0, 19).replace("T", " ")} GMT`;

/**
 * Moves instances through EC2's states and owns their processes:
 * pending →(pendingMs)→ running (user data starts) → shutting-down →(processes gone and
 * shuttingDownMs)→ terminated; a crash goes straight to stopped.
 */
export class Lifecycle {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly work = new Set<Promise<void>>();
  /** Instances whose every process is known to be gone: nothing can start there again. */
  private readonly ended = new WeakSet<Instance>();
  private stopped = false;

  constructor(private readonly options: LifecycleOptions) {}

  /** Writes the instance's directory and user data now, and boots it after `pendingMs`. */
  boot(instance: Instance): void {
    const prepared = prepareInstanceDir(instance.dir, instance.userDataBytes);
    if (this.stopped) return;
    const timer = setTimeout(() => {
      this.timers.delete(instance.instanceId);
      if (instance.state !== "pending") return;
      instance.state = "running";
      instance.stateReason = undefined;
      if (this.options.runUserData && prepared.executable && prepared.file !== undefined) {
        this.start(instance, prepared.file);
      }
    }, this.options.pendingMs);
    this.timers.set(instance.instanceId, timer);
  }

  private start(instance: Instance, file: string): void {
    const run: UserDataRun = { pid: undefined, startedAt: new Date() };
    instance.userDataRun = run;
    try {
      const extra = this.options.userDataEnv?.({ instanceId: instance.instanceId, index: instance.index });
      // The script inherits the emulator's environment, as a process started by it normally would.
      run.pid = runScript(
        file,
        instance.dir,
        instance.instanceId,
        { ...inheritedEnvironment(), ...extra },
        {
          onExit: (code, signal) => {
            run.exitCode = code;
            run.signal = signal;
          },
          onError: (error) => {
            run.error = error.message;
          },
        },
      );
    } catch (error) {
      run.error = error instanceof Error ? error.message : String(error);
    }
  }

  /** TerminateInstances: idempotent; already shutting-down or terminated instances are left as they are. */
  terminate(instances: readonly Instance[]): StateChange[] {
    return instances.map((instance) => {
      const previousState = instance.state;
      if (previousState !== "shutting-down" && previousState !== "terminated") {
        this.clearTimer(instance);
        instance.state = "shutting-down";
        instance.stateReason = {
          code: "Client.UserInitiatedShutdown",
          message: "Client.UserInitiatedShutdown: User initiated shutdown",
        };
        instance.stateTransitionReason = `User initiated (${gmt(new Date())})`;
        this.track(this.shutDown(instance));
      }
      return { instanceId: instance.instanceId, previousState, currentState: instance.state };
    });
  }

  private async shutDown(instance: Instance): Promise<void> {
    try {
      await Promise.all([
        sleep(this.options.shuttingDownMs),
        this.endProcesses(instance, this.options.terminateGraceMs),
      ]);
    } finally {
      instance.state = "terminated";
      instance.stateReason = {
        code: "Client.UserInitiatedShutdown",
        message: "Client.UserInitiatedShutdown: User initiated shutdown",
      };
    }
  }

  /** The host dies: SIGKILL for the whole tree, the instance shows "stopped" and stays listed. */
  async crash(instance: Instance): Promise<void> {
    this.clearTimer(instance);
    if (instance.state !== "shutting-down" && instance.state !== "terminated") {
      instance.state = "stopped";
      instance.stateReason = {
        code: "Server.InternalError",
        message: "Server.InternalError: The underlying host failed (emulated crash)",
      };
      instance.stateTransitionReason = `Server initiated (${gmt(new Date())})`;
    }
    await this.endProcesses(instance, 0);
  }

  /** No more transitions; every process tree ended (SIGTERM, then SIGKILL after the grace time). */
  async stop(instances: readonly Instance[]): Promise<void> {
    this.stopped = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
    await Promise.all(instances.map((i) => this.endProcesses(i, this.options.terminateGraceMs)));
    await Promise.allSettled(this.work);
  }

  /**
   * Once an instance's processes are all gone its process group id is forgotten, so a later
   * terminate or crash cannot signal an unrelated group that happens to reuse the number.
   */
  private async endProcesses(instance: Instance, graceMs: number): Promise<void> {
    const run = instance.userDataRun;
    if (run === undefined || this.ended.has(instance)) return;
    await killTree(run.pid, instance.instanceId, graceMs);
    this.ended.add(instance);
  }

  private clearTimer(instance: Instance): void {
    const timer = this.timers.get(instance.instanceId);
    if (timer !== undefined) clearTimeout(timer);
    this.timers.delete(instance.instanceId);
  }

  private track(promise: Promise<void>): void {
    const settled = promise.catch(() => undefined).finally(() => this.work.delete(settled));
    this.work.add(settled);
  }
}
