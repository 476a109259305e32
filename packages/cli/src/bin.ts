// The `berth` process: bin/berth.js runs it from source, the packed CLI as one bundled module.
import { main } from "./main";

await main();
