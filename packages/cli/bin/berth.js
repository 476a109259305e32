#!/usr/bin/env node
// berth: runs the CLI's TypeScript through tsx's loader (the repository has no build step).
import { register } from "tsx/esm/api";

register();
const { main } = await import("../src/main.ts");
await main();
