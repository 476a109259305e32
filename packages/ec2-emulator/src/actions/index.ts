import type { ActionHandler } from "./context";
import { describeInstanceStatus } from "./describe-instance-status";
import { describeInstances } from "./describe-instances";
import { runInstances } from "./run-instances";
import { createTags, deleteTags, describeTags } from "./tags";
import { terminateInstances } from "./terminate-instances";

/** Every action the emulator answers; any other `Action` is InvalidAction. */
export const ACTIONS: Readonly<Record<string, ActionHandler>> = {
  RunInstances: runInstances,
  DescribeInstances: describeInstances,
  TerminateInstances: terminateInstances,
  CreateTags: createTags,
  DeleteTags: deleteTags,
  DescribeTags: describeTags,
  DescribeInstanceStatus: describeInstanceStatus,
};

export function findAction(name: string): ActionHandler | undefined {
  return Object.hasOwn(ACTIONS, name) ? ACTIONS[name] : undefined;
}
