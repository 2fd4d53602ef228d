import { createHash, timingSafeEqual } from "node:crypto";
import type { RequestHandler } from "express";

// Comparing fixed-length digests keeps timingSafeEqual constant-time whatever length was sent.
const digest = (s: string) => createHash("sha256").update(s).digest();
const matches = (given: string, expected: Buffer) => timingSafeEqual(digest(given), expected);

const DISABLED = "admin endpoints are disabled: ADMIN_TOKEN is not set";

const bearerToken = (header: string): string | null => /^Bearer\s+(.+)$/i.exec(header)?.[1]?.trim() ?? null;

function basicCredentials(header: string): { user: string; password: string } | null {
  const encoded = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header)?.[1];
  if (!encoded) return null;
  const decoded = Buffer.from(encoded, "base64").toString("utf8");
  // RFC 7617: the user name cannot hold a colon, the password can.
  const colon = decoded.indexOf(":");
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/**
 * Requires `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time. With no token
 * configured, every admin request is refused: there is no open default.
 */
export function requireAdmin(adminToken: string | undefined): RequestHandler {
  const expected = adminToken ? digest(adminToken) : null;
  return (req, res, next) => {
    const token = bearerToken(req.headers.authorization ?? "");
    if (expected && token && matches(token, expected)) return next();
    res
      .status(401)
      .set("WWW-Authenticate", 'Bearer realm="moonfleet"')
      .json({ error: expected ? "admin token required" : DISABLED });
  };
}

/**
 * For pages a browser opens (Bull Board): HTTP Basic with `adminUser` and ADMIN_TOKEN as the
 * password, or the same Bearer token as the JSON API. A refusal carries a Basic challenge so the
 * browser asks for a login.
 */
export function requireAdminLogin(adminToken: string | undefined, adminUser: string): RequestHandler {
  const expected = adminToken ? { token: digest(adminToken), user: digest(adminUser) } : null;
  const allowed = (header: string): boolean => {
    if (!expected) return false;
    const token = bearerToken(header);
    if (token) return matches(token, expected.token);
    const basic = basicCredentials(header);
    if (!basic) return false;
    // Both comparisons always run, so the timing does not tell a wrong user from a wrong password.
    const userOk = matches(basic.user, expected.user);
    const passwordOk = matches(basic.password, expected.token);
    return userOk && passwordOk;
  };
  return (req, res, next) => {
    if (allowed(req.headers.authorization ?? "")) return next();
    res
      .status(401)
      .set("WWW-Authenticate", 'Basic realm="moonfleet"')
      .json({ error: expected ? "admin credentials required" : DISABLED });
  };
}
