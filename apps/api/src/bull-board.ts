import { type Lane, LANES } from "@moonfleet/domain";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import { Router, type Express, type Request, type RequestHandler } from "express";

type ServerAdapter = Parameters<typeof createBullBoard>[0]["serverAdapter"];

export interface BullBoardOptions {
  /** The lanes' queues, owned (and closed) by the caller. */
  readonly queues: Readonly<Record<Lane, Queue>>;
  /** Where the router is mounted, so the page's links and assets resolve. */
  readonly basePath: string;
  /** BULL_BOARD_READ_ONLY: show the queues without retry, clean, remove or pause actions. */
  readonly readOnly: boolean;
  /** Runs before every board request, page and API alike (the admin login). */
  readonly guard: RequestHandler;
}

export interface BullBoard {
  readonly router: Router;
}

/**
 * The board's header links back to the dashboard's pages (miscLinks, in the user menu), and its
 * docs icon, which points outside the machine, is hidden.
 */
export const BOARD_UI = {
  boardTitle: "moonfleet queues",
  miscLinks: [
    { text: "Fleet dashboard", url: "/" },
    { text: "Tokens", url: "/ui/tokens" },
    { text: "API docs", url: "/docs" },
  ],
  hideDocsLink: true,
};

/** Bull Board over the hot and cold queues, behind `guard`. */
export function createBullBoardRouter(opts: BullBoardOptions): BullBoard {
  const queues = LANES.map((lane) => opts.queues[lane]);
  const serverAdapter = new ExpressAdapter().setBasePath(opts.basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: opts.readOnly })),
    // @bull-board/express 9.10.1 declares its adapter against its own nested copy of @bull-board/api
    // 9.10.1; the two copies' classes are the same at run time but not to the type checker.
    serverAdapter: serverAdapter as unknown as ServerAdapter,
    options: { uiConfig: BOARD_UI },
  });
  // The adapter's own Express app would announce itself (X-Powered-By) on every board answer.
  const board = serverAdapter.getRouter() as Express;
  board.disable("x-powered-by");
  keepBoardOffline(board);
  const router = Router();
  router.use(opts.guard, sameOriginJsonOnly, board);
  return { router };
}

type Render = (file: string, options: object, done: (err: Error | null, html?: string) => void) => void;

/** The stylesheet link Bull Board's page template has to Google Fonts. */
const OUTSIDE_FONTS = /<link[^>]+href="https:\/\/fonts\.googleapis\.com[^"]*"[^>]*>/g;

/** The board's page without its Google Fonts link: nothing the pages load leaves this host. */
export const withoutOutsideFonts = (html: string): string => html.replace(OUTSIDE_FONTS, "");

/** Wraps the board's template engine so its page asks no other host for fonts. */
function keepBoardOffline(board: Express): void {
  const engines = (board as unknown as { engines: Record<string, Render | undefined> }).engines;
  const render = engines[".ejs"];
  if (!render) return;
  board.engine("ejs", (file, options, done) =>
    render(file, options, (err, html) => done(err, html === undefined ? html : withoutOutsideFonts(html))),
  );
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

function crossSite(req: Request): boolean {
  const site = req.headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return true;
  const origin = req.headers.origin;
  if (origin === undefined) return false;
  try {
    return new URL(origin).host !== req.headers.host;
  } catch {
    return true; // "null" (a sandboxed frame, a file) or garbage
  }
}

const hasBody = (req: Request) =>
  req.headers["transfer-encoding"] !== undefined || Number(req.headers["content-length"] ?? 0) > 0;

/**
 * Board actions come from the board's own page, as JSON or with no body. A browser sends Basic
 * credentials with any request to this host, so a cross-site form (form-encoded or text/plain,
 * which need no CORS preflight) could otherwise add or remove jobs: those are refused, as is any
 * action whose Origin is another site.
 */
export const sameOriginJsonOnly: RequestHandler = (req, res, next) => {
  if (SAFE_METHODS.has(req.method)) return next();
  if (crossSite(req))
    return void res
      .status(403)
      .json({ error: "cross-site request refused: board actions come from the board" });
  const typed = req.headers["content-type"] !== undefined;
  if ((typed && !req.is("application/json")) || (!typed && hasBody(req)))
    return void res
      .status(415)
      .json({ error: "board actions take JSON bodies only (Content-Type: application/json)" });
  next();
};
