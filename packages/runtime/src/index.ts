export { runLoop, pause, type LoopOptions } from "./loop.js";
export { onShutdown, type ShutdownOptions } from "./shutdown.js";
