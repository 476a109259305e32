#!/usr/bin/env node
// berth from the repository: the CLI's TypeScript through tsx's loader (`npm run pack -w @berth/cli`
// makes the installable package, one compiled module).
import { register } from "tsx/esm/api";

register();
await import("../src/bin.ts");
