import { ensureTemplate } from "./testing";

/** vitest globalSetup: the migrated template database every test file clones. */
export default async function setup(): Promise<void> {
  await ensureTemplate();
}
