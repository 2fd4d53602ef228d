import { type Lane, LANES } from "@moonfleet/domain";
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { ExpressAdapter } from "@bull-board/express";
import type { Queue } from "bullmq";
import { Router, type RequestHandler } from "express";

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

/** Bull Board over the hot and cold queues, behind `guard`. */
export function createBullBoardRouter(opts: BullBoardOptions): BullBoard {
  const queues = LANES.map((lane) => opts.queues[lane]);
  const serverAdapter = new ExpressAdapter().setBasePath(opts.basePath);
  createBullBoard({
    queues: queues.map((queue) => new BullMQAdapter(queue, { readOnlyMode: opts.readOnly })),
    // @bull-board/express 9.10.1 declares its adapter against its own nested copy of @bull-board/api
    // 9.10.1; the two copies' classes are the same at run time but not to the type checker.
    serverAdapter: serverAdapter as unknown as ServerAdapter,
    options: { uiConfig: { boardTitle: "moonfleet queues" } },
  });
  const router = Router();
  router.use(opts.guard, serverAdapter.getRouter() as RequestHandler);
  return { router };
}
