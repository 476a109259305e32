// A plain TypeScript script using the installed @berth/sdk (no workspace, no server code):
//   npm install @berth/sdk && BERTH_URL=… BERTH_API_KEY=… npx tsx quickstart.ts
import { BerthApiError, createClient } from "@berth/sdk";
import { env } from "./env.js";

if (!env.apiKey) throw new Error("set BERTH_API_KEY (berth api-keys create <name>)");

// The key is exchanged for short-lived access tokens, renewed as they expire.
const berth = createClient({ url: env.url, apiKey: env.apiKey });

const me = await berth.auth.me.query({});
console.log(`signed in to tenant ${me.tenantId} as ${me.principal.type} ${me.principal.id}`);

const cluster = await berth.clusters.create.mutate({ name: "from-sdk", tags: { team: "docs" } });
console.log(`cluster ${cluster.name} (${cluster.id}) is ${cluster.status}`);

const { items } = await berth.clusters.list.query({ limit: 10 });
console.log(`clusters: ${items.map((c) => c.name).join(", ")}`);

// Failures carry the API's error code, status and the fields at fault.
try {
  await berth.clusters.create.mutate({ name: "Not A Valid Name" });
} catch (error) {
  if (!(error instanceof BerthApiError)) throw error;
  console.log(
    `refused: ${error.code} (${error.httpStatus}) at ${error.issues.map((i) => i.path).join(", ")}`,
  );
}
