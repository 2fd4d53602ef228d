import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ExportFileError, writeFileAtomic } from "../src/export-files.js";

/** A large body that says how long it is, so a partial read cannot pass for a whole one. */
const body = (version: number): string => {
  const items = Array.from({ length: 2_000 + (version % 7) * 500 }, (_, i) => `pool-${version}-${i}`);
  return JSON.stringify({ version, count: items.length, items });
};

describe("atomic export files", () => {
  it("a reader in a tight loop never sees a partial file while it is rewritten", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mf-atomic-"));
    await writeFileAtomic(dir, "markets.json", body(0));
    let writing = true;
    let reads = 0;
    const reader = (async () => {
      while (writing) {
        const text = await readFile(join(dir, "markets.json"), "utf8");
        const parsed = JSON.parse(text) as { count: number; items: unknown[] };
        expect(parsed.items).toHaveLength(parsed.count);
        reads += 1;
      }
    })();
    for (let v = 1; v <= 100; v++) await writeFileAtomic(dir, "markets.json", body(v));
    writing = false;
    await reader;
    expect(reads).toBeGreaterThan(10);
    const last = JSON.parse(await readFile(join(dir, "markets.json"), "utf8")) as { version: number };
    expect(last.version).toBe(100);
    // The previous version is kept, and no temporary file is left behind.
    const bak = JSON.parse(await readFile(join(dir, "markets.json.bak"), "utf8")) as { version: number };
    expect(bak.version).toBe(99);
    expect((await readdir(dir)).sort()).toEqual(["markets.json", "markets.json.bak"]);
  }, 60_000);

  it("a folder it cannot write into is a named error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "mf-atomic-"));
    await writeFileAtomic(dir, "file", "x");
    await expect(writeFileAtomic(join(dir, "file"), "markets.json", "{}")).rejects.toBeInstanceOf(
      ExportFileError,
    );
  });
});
