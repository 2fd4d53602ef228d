// Writes .env.example and the README's settings table from packages/config's SETTINGS, so the three
// never drift (a unit test checks that they match). Run: npm run env:example
import { readFileSync, writeFileSync } from "node:fs";
import { PROFILES, SETTINGS, camelCase, renderEnvExample } from "@moonfleet/config";

writeFileSync(".env.example", renderEnvExample());

const cell = (s) => {
  if (s.profiled) {
    const key = camelCase(s.env);
    return `profile (${["high", "medium", "low"].map((p) => PROFILES[p][key]).join(" / ")})`;
  }
  return s.default === undefined ? "(unset)" : `\`${s.default}\``;
};
let table = "| variable | default | runtime | what it does |\n|---|---|---|---|\n";
for (const s of SETTINGS) table += `| \`${s.env}\` | ${cell(s)} | ${s.runtime ? "yes" : ""} | ${s.doc} |\n`;

const readme = readFileSync("README.md", "utf8");
const start = "<!-- settings:start -->";
const end = "<!-- settings:end -->";
const a = readme.indexOf(start);
const b = readme.indexOf(end);
if (a < 0 || b < a) throw new Error("README.md has no settings markers");
writeFileSync("README.md", `${readme.slice(0, a + start.length)}\n\n${table}\n${readme.slice(b)}`);
