/**
 * Runs the EC2 emulator in the foreground for development:
 *   tsx src/main.ts --port 4566 --work-dir .data/ec2 [--pending-ms 200] [--shutting-down-ms 200]
 *                   [--no-user-data] [--ignore-client-token]
 * then point EC2_ENDPOINT at the printed URL. Ctrl-C (or SIGTERM) terminates every instance's
 * processes and exits.
 */
import { parseArgs } from "node:util";
import { createEc2Emulator } from "./emulator";

function number(name: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) {
    console.error(`--${name} must be a non-negative integer, got '${raw}'`);
    process.exit(2);
  }
  return value;
}

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "4566" },
    "work-dir": { type: "string", default: ".data/ec2" },
    "pending-ms": { type: "string" },
    "shutting-down-ms": { type: "string" },
    "no-user-data": { type: "boolean", default: false },
    "ignore-client-token": { type: "boolean", default: false },
    quiet: { type: "boolean", default: false },
  },
});

const out = (line: string) => process.stdout.write(`${line}\n`);

const emulator = await createEc2Emulator({
  port: number("port", values.port),
  workDir: values["work-dir"],
  pendingMs: number("pending-ms", values["pending-ms"]),
  shuttingDownMs: number("shutting-down-ms", values["shutting-down-ms"]),
  runUserData: !values["no-user-data"],
  ignoreClientToken: values["ignore-client-token"],
  onCall: values.quiet
    ? undefined
    : (call) => {
        const ids = Object.entries(call.params)
          .filter(([k]) => k.startsWith("InstanceId.") || k.startsWith("ResourceId."))
          .map(([, v]) => v);
        out(`${new Date().toISOString()} ${call.action || "(no action)"} ${ids.join(" ")}`.trimEnd());
      },
});
out(`EC2 emulator listening on ${emulator.url} (work dir ${values["work-dir"]})`);
out(`  EC2_ENDPOINT=${emulator.url} AWS_REGION=us-east-1 AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    out(`${signal}: stopping instances`);
    emulator.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error(error);
        process.exit(1);
      },
    );
  });
}
