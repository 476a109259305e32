import { readFileSync } from "node:fs";
import { z } from "zod";
import { loadRegistrySigningKey, type RegistrySigningKey } from "./token";

/**
 * `REGISTRY_TOKEN_KEY_FILE` as the apps read it at boot: the path of the registry's token signing
 * key (EC P-256, PEM), loaded; a file that is missing or not such a key stops the process naming it.
 */
export const registrySigningKeyFile = z
  .string()
  .min(1)
  .optional()
  .transform((path, ctx): RegistrySigningKey | undefined => {
    if (path === undefined) return undefined;
    try {
      return loadRegistrySigningKey(readFileSync(path, "utf8"));
    } catch (error) {
      ctx.addIssue({ code: "custom", message: `${path}: ${(error as Error).message}` });
      return z.NEVER;
    }
  });
