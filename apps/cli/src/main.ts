import { parseArgs } from "node:util";
import { CliError, apiClient } from "./client.js";
import { USAGE, run } from "./commands.js";

// `npx moonfleet ...`: a thin client of the api. Exit 0 on success; 1 with one line on stderr when
// the api refuses or cannot be reached; 2 for a usage error.
let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: "boolean" },
      help: { type: "boolean", short: "h" },
      status: { type: "string" },
      lane: { type: "string" },
      "min-score": { type: "string" },
      limit: { type: "string" },
      sort: { type: "string" },
    },
  });
} catch (err) {
  process.stderr.write(`moonfleet: ${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
  process.exit(2);
}
if (parsed.values.help || parsed.positionals.length === 0) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(parsed.values.help ? 0 : 2);
}

const api = apiClient(process.env.MOONFLEET_URL ?? "http://127.0.0.1:8000", process.env.ADMIN_TOKEN);
try {
  await run(api, parsed.positionals, parsed.values, {
    json: parsed.values.json === true,
    print: (text) => process.stdout.write(`${text}\n`),
  });
} catch (err) {
  if (!(err instanceof CliError)) throw err;
  process.stderr.write(`moonfleet: ${err.message}\n`);
  process.exit(err.message.startsWith("usage:") || err.message.startsWith("unknown ") ? 2 : 1);
}
