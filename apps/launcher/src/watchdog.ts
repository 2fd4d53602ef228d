// A tiny guard the launcher forks beside its redis-server: when the launcher goes away by any path
// (SIGKILL included), its IPC channel closes and this process stops the redis-server, so a private
// Redis never outlives the `npm start` that owns it.
const pid = Number(process.argv[2]);
const stopRedis = () => {
  try {
    process.kill(pid, "SIGTERM");
  } catch {
    process.exit(0); // gone already
  }
  const started = Date.now();
  const poll = setInterval(() => {
    try {
      process.kill(pid, 0);
      if (Date.now() - started > 5_000) process.kill(pid, "SIGKILL");
    } catch {
      clearInterval(poll);
      process.exit(0);
    }
  }, 100);
};
if (!process.send || !(pid > 0)) process.exit(2);
process.on("disconnect", stopRedis);
// The launcher's own signals are not ours: it stops Redis itself on a clean exit.
for (const s of ["SIGINT", "SIGTERM", "SIGHUP"] as const) process.on(s, () => undefined);
