import { UnauthenticatedError } from "@berth/core";
import type { Caller, Deps } from "../deps";
import type { AuthKind } from "../operation";
import { verifyNodeCredential } from "./node-credentials";

function bearer(header: string | undefined): string {
  const m = /^Bearer ([A-Za-z0-9._~+/=-]{10,4096})$/.exec(header ?? "");
  if (!m?.[1]) throw new UnauthenticatedError("send `Authorization: Bearer <token>`");
  return m[1];
}

/** Resolves the caller an operation requires from the Authorization header, or throws UNAUTHENTICATED. */
export async function authenticate(
  deps: Deps,
  kind: AuthKind,
  authorization: string | undefined,
): Promise<Caller> {
  switch (kind) {
    case "public":
      return { kind: "anonymous" };
    case "user": {
      const claims = await deps.tokens.verify(bearer(authorization));
      return { kind: "user", ...claims };
    }
    case "node": {
      const claims = await verifyNodeCredential(deps.db, deps.publicUrl, bearer(authorization));
      return { kind: "node", ...claims };
    }
    default: {
      const unknownKind: never = kind;
      throw new Error(`unknown auth kind ${String(unknownKind)}`);
    }
  }
}
