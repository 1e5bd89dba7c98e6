/** pino logger: JSON by default, human-readable when stderr is a terminal (or format "pretty"). */
import pino, { type Logger } from "pino";
import type { Config } from "./config/schema.ts";

export function createLogger(config: Config["log"]): Logger {
  const pretty = config.format === "pretty" || (config.format === "auto" && process.stderr.isTTY);
  if (pretty) {
    return pino({
      level: config.level,
      transport: { target: "pino-pretty", options: { destination: 2, colorize: true, translateTime: "HH:MM:ss.l", ignore: "pid,hostname" } },
    });
  }
  // Logs go to stderr so that stdout stays free for audio (`chorus say` without -o).
  return pino({ level: config.level, base: { pid: process.pid } }, pino.destination({ fd: 2, sync: false }));
}
