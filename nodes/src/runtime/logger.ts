/** The node's structured logger: pino, JSON lines to stdout (pipe through pino-pretty to read them live). */
import { pino, type Logger } from "pino";

export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  const options = { level, base: { service: "tributary-node" }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination === undefined ? pino(options) : pino(options, destination);
}
