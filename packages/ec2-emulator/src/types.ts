/** EC2's instance states and their codes (the low byte of `instanceState.code`). */
export const STATE_CODES = {
  pending: 0,
  running: 16,
  "shutting-down": 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
} as const;

export type InstanceStateName = keyof typeof STATE_CODES;

export interface Ec2EmulatorOptions {
  /** 0 (the default) picks a free port; the server listens on 127.0.0.1 only. */
  port?: number;
  /** Per-instance directories (`<workDir>/<instanceId>/user-data`, `console.log`) live here. */
  workDir: string;
  /** Default true: run each instance's user-data script once it is "running". */
  runUserData?: boolean;
  /** Extra environment for an instance's user-data process (PATH with shims, ports, state dir). */
  userDataEnv?: (instance: { instanceId: string; index: number }) => Record<string, string>;
  /** Behave like emulators that ignore ClientToken: every RunInstances launches new instances. */
  ignoreClientToken?: boolean;
  /** Time in "pending" before "running" (default 200 ms). */
  pendingMs?: number;
  /** Least time in "shutting-down" before "terminated" (default 200 ms). */
  shuttingDownMs?: number;
  /** Time between SIGTERM and SIGKILL when an instance is terminated or the emulator stops (default 2000 ms). */
  terminateGraceMs?: number;
  /** Called with every request as it arrives (the CLI prints them). */
  onCall?: (call: Ec2Call) => void;
  /** Most instances not yet terminated at once, like an account's vCPU quota (default 100). */
  instanceLimit?: number;
}

/** What happened to an instance's user-data process. */
export interface UserDataRun {
  /** The process id, which is also its process group id. */
  pid: number | undefined;
  startedAt: Date;
  /** Set once the script itself exits: its exit code, or null when a signal ended it. */
  exitCode?: number | null;
  signal?: string | null;
  /** Set when the script could not be started at all (e.g. its interpreter does not exist). */
  error?: string;
}

/** A snapshot of one emulated instance, terminated ones included. */
export interface EmulatedInstance {
  instanceId: string;
  reservationId: string;
  /** Emulator-wide launch order, 0-based: what `userDataEnv` receives. */
  index: number;
  /** Position within its RunInstances call, as EC2's `amiLaunchIndex`. */
  amiLaunchIndex: number;
  imageId: string;
  instanceType: string;
  availabilityZone: string;
  subnetId: string | undefined;
  securityGroupIds: string[];
  clientToken: string | undefined;
  launchTime: Date;
  state: InstanceStateName;
  stateReason: { code: string; message: string } | undefined;
  stateTransitionReason: string;
  tags: Record<string, string>;
  /** The decoded user data, if any. */
  userData: string | undefined;
  /** `<workDir>/<instanceId>`: the user-data file and `console.log` (the script's stdout and stderr). */
  dir: string;
  userDataRun: UserDataRun | undefined;
}

export interface Ec2Call {
  action: string;
  params: Record<string, string>;
}

export interface Ec2Emulator {
  /** `http://127.0.0.1:<port>`, for `EC2_ENDPOINT` / the SDK's `endpoint`. */
  url: string;
  /** A snapshot of every instance, terminated ones included, in launch order. */
  instances(): EmulatedInstance[];
  /** The machine dies: its process tree is SIGKILLed and it shows "stopped" (hardware failure). */
  crash(instanceId: string): Promise<void>;
  /** Every request received, rejected ones included, in order. */
  calls(): Ec2Call[];
  /** Kills every instance's process tree and closes the server. */
  stop(): Promise<void>;
}
