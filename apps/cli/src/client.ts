/** What went wrong, in one line an operator can act on; the CLI prints it and exits 1. */
export class CliError extends Error {
  override name = "CliError";
}

export interface ApiClient {
  readonly base: string;
  request(method: string, path: string, body?: unknown): Promise<unknown>;
}

/** A thin client of the moonfleet API at `base`, with the admin token for mutating calls. */
export function apiClient(base: string, adminToken: string | undefined): ApiClient {
  const root = base.replace(/\/+$/, "");
  return {
    base: root,
    async request(method, path, body) {
      let res: Response;
      try {
        res = await fetch(`${root}${path}`, {
          method,
          headers: {
            accept: "application/json",
            ...(body !== undefined ? { "content-type": "application/json" } : {}),
            ...(adminToken ? { authorization: `Bearer ${adminToken}` } : {}),
          },
          ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
          signal: AbortSignal.timeout(10_000),
        });
      } catch (err) {
        const cause = err instanceof Error && err.cause instanceof Error ? err.cause.message : String(err);
        throw new CliError(
          `cannot reach the moonfleet api at ${root} (${cause}): is it running? set MOONFLEET_URL`,
        );
      }
      const text = await res.text();
      let data: unknown = text;
      try {
        data = text ? JSON.parse(text) : null;
      } catch {
        // not JSON: keep the text
      }
      if (res.ok) return data;
      if (res.status === 401)
        throw new CliError(
          `the api refused the admin token (401): set ADMIN_TOKEN to the fleet's admin token`,
        );
      throw new CliError(`${method} ${path} answered ${res.status}: ${describeError(data)}`);
    },
  };
}

function describeError(data: unknown): string {
  if (data && typeof data === "object") {
    const d = data as { error?: unknown; issues?: Array<{ path?: unknown; message?: string }> };
    const issues = (d.issues ?? []).map((i) => {
      const path = Array.isArray(i.path) ? i.path.join(".") : typeof i.path === "string" ? i.path : "";
      return `${path || "body"}: ${i.message ?? "?"}`;
    });
    // One line: the api's messages may span several.
    return [typeof d.error === "string" ? d.error : JSON.stringify(data), ...issues]
      .join("; ")
      .replace(/\s*\n\s*/g, " ");
  }
  return String(data).slice(0, 300);
}
