/**
 * The closed list of EC2 error codes the emulator answers with, each with its HTTP status.
 * Codes and statuses are EC2's own (API reference, "Error codes"): client errors are 400,
 * `AuthFailure` 401, `DryRunOperation` 412, server errors 500. The SDK turns `Code` into the
 * thrown exception's `name`, so these strings are what Berth's provider code will match on.
 */
export const EC2_ERROR_STATUS = {
  AuthFailure: 401,
  InvalidAction: 400,
  NoSuchVersion: 400,
  MissingParameter: 400,
  InvalidParameterValue: 400,
  InvalidParameterCombination: 400,
  InvalidPaginationToken: 400,
  "InvalidInstanceID.NotFound": 400,
  "InvalidInstanceID.Malformed": 400,
  "InvalidAMIID.Malformed": 400,
  InvalidID: 400,
  IdempotentParameterMismatch: 400,
  InstanceLimitExceeded: 400,
  DryRunOperation: 412,
  InternalError: 500,
} as const;

export type Ec2ErrorCode = keyof typeof EC2_ERROR_STATUS;

/** Thrown by action handlers; the server renders it as EC2's XML error envelope. */
export class Ec2Error extends Error {
  readonly status: number;

  constructor(
    readonly code: Ec2ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "Ec2Error";
    this.status = EC2_ERROR_STATUS[code];
  }
}
