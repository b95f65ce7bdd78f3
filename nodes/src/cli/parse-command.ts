/**
 * Argument handling shared by the commands that parse their own arguments (verify-batch, verify-sketch): a parse
 * error or a missing argument prints what is wrong with the help and is exit code 2; --help prints the help, 0.
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

type Options = NonNullable<ParseArgsConfig["options"]>;

/** The parsed arguments (positionals allowed), or the exit code when the command should stop here. */
export function parseCommandArgs<O extends Options>(command: string, args: string[], options: O, help: string) {
  let parsed;
  try {
    parsed = parseArgs({ args, allowPositionals: true, options });
  } catch (error) {
    console.error(`${command}: ${(error as Error).message}\n\n${help}`);
    return 2;
  }
  if ((parsed.values as { help?: boolean }).help) {
    console.log(help);
    return 0;
  }
  return parsed;
}

/** Exit code 2 naming what is missing (each entry a description, or false when present); undefined when nothing is. */
export function reportMissing(command: string, required: readonly (string | false | undefined)[], help: string): 2 | undefined {
  const missing = required.filter(Boolean);
  if (missing.length === 0) return undefined;
  console.error(`${command}: missing ${missing.join(", ")}.\n\n${help}`);
  return 2;
}
