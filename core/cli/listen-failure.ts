/** Why a server cannot listen (busy port, no permission, not this machine's address), in one line naming the address and the fix. */
import { CliFailure } from "./usage.ts";

/**
 * `variable`: the port's environment variable (its `__HOST` twin names the address); `flag`:
 * the command's own port flag, when it has one (`chorus serve` and `chorus wyoming`: --port).
 */
export function listenFailure(err: unknown, host: string, port: number, variable = "CHORUS_SERVER__PORT", flag?: string): Error {
  const code = (err as { code?: string }).code;
  const serve = variable === "CHORUS_SERVER__PORT";
  const hostVariable = variable.replace(/__PORT$/, "__HOST");
  const where = `${host}:${port}`;
  const change = serve
    ? "choose another with --port N (npm start -- --port N) or CHORUS_SERVER__PORT=N"
    : `choose another with ${flag ? `${flag} N or ` : ""}${variable}=N`;
  if (code === "EADDRINUSE")
    return new CliFailure(`port ${port} on ${host} is already in use (another Chorus or AllTalk?); stop that program or ${change}`, { cause: err });
  if (code === "EACCES") return new CliFailure(`no permission to listen on ${where} (ports below 1024 need privileges); ${change}`, { cause: err });
  if (code === "EADDRNOTAVAIL" || code === "ENOTFOUND")
    return new CliFailure(
      `cannot listen on ${where}: ${host} is not an address of this machine; set ${serve || flag ? "--host or " : ""}${hostVariable} (127.0.0.1, 0.0.0.0)`,
      {
        cause: err,
      },
    );
  return err instanceof Error ? err : new Error(String(err));
}
