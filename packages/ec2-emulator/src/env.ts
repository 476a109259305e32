/** The environment instances' user-data processes inherit from the emulator (like a machine image's defaults). */
export function inheritedEnvironment(): Record<string, string | undefined> {
  return { ...process.env };
}
