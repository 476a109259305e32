export { createEc2Emulator } from "./emulator";
export { EC2_ERROR_STATUS, type Ec2ErrorCode } from "./errors";
export { INSTANCE_ID_ENV } from "./process-tree";
export type {
  Ec2Call,
  Ec2Emulator,
  Ec2EmulatorOptions,
  EmulatedInstance,
  InstanceStateName,
  UserDataRun,
} from "./types";
export { STATE_CODES } from "./types";
export { EC2_NAMESPACE, EC2_VERSION } from "./xml";
