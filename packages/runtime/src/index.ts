export { runLoop, pause, type LoopOptions } from "./loop.js";
export { onShutdown, runUntilShutdown, type RunningPart, type ShutdownOptions } from "./shutdown.js";
