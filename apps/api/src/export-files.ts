import { constants } from "node:fs";
import { copyFile, link, mkdir, open, rename, rm } from "node:fs/promises";
import { join } from "node:path";

/** The files a bot that reads a file (`[[markets_file]] path=...`) points at. */
export const EXPORT_FILES = {
  markets: "markets.json",
  notArb: "notarb-markets.json",
  smb: "smb-config.toml",
} as const;

export class ExportFileError extends Error {
  constructor(
    readonly file: string,
    cause: unknown,
  ) {
    super(`cannot write ${file}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.name = "ExportFileError";
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, constants.O_RDONLY).catch(() => null);
  if (!fh) return;
  await fh.sync().catch(() => undefined); // not every filesystem syncs directories
  await fh.close();
}

/**
 * Replaces `dir/name` atomically: a reader sees the old file or the new one, never a part. The
 * body goes to a temporary file that is fsynced, the current file is kept as `name.bak`, and a
 * rename puts the new one in place.
 */
export async function writeFileAtomic(dir: string, name: string, body: string): Promise<void> {
  const target = join(dir, name);
  const tmp = join(dir, `.${name}.${process.pid}.tmp`);
  try {
    const fh = await open(tmp, "w", 0o644);
    try {
      await fh.writeFile(body, "utf8");
      await fh.sync();
    } finally {
      await fh.close();
    }
    await keepBackup(target);
    await rename(tmp, target);
    await fsyncDir(dir);
  } catch (err) {
    await rm(tmp, { force: true }).catch(() => undefined);
    throw new ExportFileError(target, err);
  }
}

/** `name.bak` becomes the current file (a hard link renamed over it, so it is never partial). */
async function keepBackup(target: string): Promise<void> {
  const bak = `${target}.bak`;
  const bakTmp = `${bak}.${process.pid}.tmp`;
  try {
    await link(target, bakTmp);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return; // first write: nothing to keep
    await copyFile(target, bakTmp); // a filesystem without hard links
  }
  await rename(bakTmp, bak);
}

/** Writes every export file into `dir` (created if missing). */
export async function writeExportFiles(
  dir: string,
  bodies: Readonly<Record<keyof typeof EXPORT_FILES, string>>,
): Promise<void> {
  await mkdir(dir, { recursive: true }).catch((err: unknown) => {
    throw new ExportFileError(dir, err);
  });
  for (const key of Object.keys(EXPORT_FILES) as Array<keyof typeof EXPORT_FILES>)
    await writeFileAtomic(dir, EXPORT_FILES[key], bodies[key]);
}
