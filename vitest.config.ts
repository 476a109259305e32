import { fileURLToPath } from "node:url";
import { defineConfig } from "vitest/config";

// One vitest run for the whole repo: each workspace is a project, so CI gets one JSON report.
// Integration tests share Postgres and Redis; each file gets its own database and queue prefix,
// so files may run in parallel, bounded to the machine's two cores.
export default defineConfig({
  test: {
    globalSetup: [fileURLToPath(new URL("./packages/db/src/testing-global-setup.ts", import.meta.url))],
    maxWorkers: 2,
    // An interrupted mutation run (npm run mutate -w …) may leave its sandbox of test copies.
    exclude: ["**/node_modules/**", "**/.git/**", "**/.stryker-tmp/**"],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      { extends: true, test: { name: "@berth/core", root: "./packages/core" } },
      { extends: true, test: { name: "@berth/db", root: "./packages/db" } },
      { extends: true, test: { name: "@berth/scheduler", root: "./packages/scheduler" } },
      { extends: true, test: { name: "@berth/kube", root: "./packages/kube" } },
      { extends: true, test: { name: "@berth/gateway", root: "./apps/gateway" } },
      { extends: true, test: { name: "@berth/iam", root: "./packages/iam" } },
      { extends: true, test: { name: "@berth/protocol", root: "./packages/protocol" } },
      { extends: true, test: { name: "@berth/registry", root: "./packages/registry" } },
      { extends: true, test: { name: "@berth/sdk", root: "./packages/sdk" } },
      { extends: true, test: { name: "@berth/cli", root: "./packages/cli" } },
      { extends: true, test: { name: "@berth/ec2-emulator", root: "./packages/ec2-emulator" } },
      { extends: true, test: { name: "@berth/control-api", root: "./apps/control-api" } },
      { extends: true, test: { name: "@berth/provisioner", root: "./apps/provisioner" } },
      { extends: true, test: { name: "@berth/node-agent", root: "./apps/node-agent" } },
      {
        extends: true,
        test: { name: "@berth/e2e", root: "./test", testTimeout: 300_000, hookTimeout: 300_000 },
      },
    ],
  },
});
