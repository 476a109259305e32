/**
 * The API's procedures as types, in the workspace derived from the server's router. A packed SDK
 * replaces this file with one generated from the OpenAPI document's schemas (scripts/build.ts),
 * so that what users install depends on no server code.
 */
import type { AppRouter } from "@berth/control-api/router";
import type {
  AnyMutationProcedure,
  AnyQueryProcedure,
  inferProcedureInput,
  inferProcedureOutput,
  TRPCRouterRecord as RouterRecord,
} from "@trpc/server";

type ProceduresOf<R extends RouterRecord> = {
  [K in keyof R]: R[K] extends AnyQueryProcedure
    ? { kind: "query"; input: inferProcedureInput<R[K]>; output: inferProcedureOutput<R[K]> }
    : R[K] extends AnyMutationProcedure
      ? { kind: "mutation"; input: inferProcedureInput<R[K]>; output: inferProcedureOutput<R[K]> }
      : R[K] extends RouterRecord
        ? ProceduresOf<R[K]>
        : never;
};

export type Procedures = ProceduresOf<AppRouter["_def"]["record"]>;
