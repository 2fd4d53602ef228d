#!/usr/bin/env node
// The `moonfleet` command: runs the built CLI (npm start, npm test and npm run build compile it).
import process from "node:process";
import("../dist/main.js").catch((err) => {
  if (err && err.code === "ERR_MODULE_NOT_FOUND")
    process.stderr.write("moonfleet: the CLI is not built yet: run `npm run build` first\n");
  else process.stderr.write(`moonfleet: ${err && err.stack ? err.stack : err}\n`);
  process.exit(1);
});
