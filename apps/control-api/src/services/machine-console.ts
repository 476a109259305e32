import { idOf, NotFoundError, ValidationError } from "@berth/core";
import { readLocalVmConsole } from "@berth/core/local-vm";
import { machines, withTenant } from "@berth/db";
import { and, eq } from "drizzle-orm";
import { z } from "zod";
import type { Deps, UserCaller } from "../deps";
import { clusterId, loadCluster } from "./clusters";
import { loadPool } from "./node-pools";

/** The most of a console's end served at once, as EC2's GetConsoleOutput (the latest 64 KiB). */
export const CONSOLE_MAX_BYTES = 64 * 1024;

export const machineConsoleInput = z
  .object({ clusterId, poolId: idOf("nodePool"), machineId: idOf("machine") })
  .strict();
export const machineConsoleReply = z.strictObject({
  machineId: z.string(),
  instanceId: z.string(),
  output: z.string().describe("the serial console's last bytes (at most 64 KiB), boot and node agent"),
  bytes: z.number().int().describe("how much the console has written in all"),
  truncated: z.boolean().describe("whether output leaves out an earlier part"),
});

/**
 * A node pool machine's console output, like EC2's GetConsoleOutput: the serial console of a
 * local-vm machine's VM, its latest 64 KiB. The VM's files go when its machine is terminated.
 */
export async function machineConsole(
  deps: Deps,
  caller: UserCaller,
  input: z.infer<typeof machineConsoleInput>,
): Promise<z.output<typeof machineConsoleReply>> {
  const machine = await withTenant(deps.db, caller.tenantId, async (tx) => {
    await loadCluster(tx, input.clusterId);
    await loadPool(tx, input.clusterId, input.poolId);
    const [row] = await tx
      .select()
      .from(machines)
      .where(and(eq(machines.id, input.machineId), eq(machines.poolId, input.poolId)));
    return row;
  });
  if (!machine) throw new NotFoundError("machine", input.machineId);
  if (machine.provider !== "local-vm")
    throw new ValidationError(
      `console output is served for local-vm machines; this one is ${machine.provider}`,
      [{ path: "machineId", message: `a ${machine.provider} machine` }],
    );
  const console = machine.instanceId
    ? await readLocalVmConsole(deps.localVmDir, machine.instanceId, CONSOLE_MAX_BYTES)
    : null;
  if (!machine.instanceId || !console) throw new NotFoundError("console output of machine", input.machineId);
  return { machineId: machine.id, instanceId: machine.instanceId, ...console };
}
