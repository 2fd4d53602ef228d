// A co-tenant: another service on the host that needs CPU. It does fixed units of arithmetic flat
// out (or for `--duty` of each 100 ms: `--duty 0.5` keeps one core half busy when it gets the CPU)
// and prints its count as a JSON line every 250 ms and when it is stopped, so the bench can say how
// much progress the fleet left it. usage: node bench/lib/cotenant.mjs [--duty 0..1]
import { parseArgs } from "node:util";
import { setTimeout as sleep } from "node:timers/promises";

const { values } = parseArgs({ options: { duty: { type: "string", default: "1" } } });
const duty = Math.min(1, Math.max(0.01, Number(values.duty)));
const PERIOD_MS = 100;
const started = performance.now();
let units = 0;
let x = 1;
let lastReport = started;

function report() {
  const cpu = process.cpuUsage();
  process.stdout.write(
    `${JSON.stringify({
      event: "cotenant_progress",
      units,
      wallMs: Math.round(performance.now() - started),
      cpuMs: Math.round((cpu.user + cpu.system) / 1000),
    })}\n`,
  );
}

/** One unit: a fixed amount of integer arithmetic (about 0.1 ms on this machine's cores). */
function unit() {
  for (let i = 0; i < 20_000; i++) x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
  units++;
}

process.on("SIGTERM", () => {
  report();
  process.exit(x === -1 ? 1 : 0);
});

for (;;) {
  const periodStart = performance.now();
  while (performance.now() - periodStart < PERIOD_MS * duty) unit();
  if (performance.now() - lastReport >= 250) {
    report();
    lastReport = performance.now();
  }
  const rest = PERIOD_MS - (performance.now() - periodStart);
  // Always yield to the event loop, so SIGTERM is seen even at duty 1.
  await sleep(rest > 0 ? rest : 0);
}
