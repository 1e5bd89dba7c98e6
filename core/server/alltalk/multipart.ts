/**
 * multipart/form-data bodies for the AllTalk routes (AllTalk's FastAPI `Form(...)` fields take
 * them as well as urlencoded forms; Python's `requests.post(files=...)` and browsers'
 * `FormData` send them). Text fields only: a part with a filename (an upload) is refused, as
 * no AllTalk route Chorus serves takes a file. The body is already bounded by `server.bodyLimit`.
 */
import { ChorusError } from "../../errors.ts";

function malformed(message: string): ChorusError {
  return new ChorusError("CHORUS_ERR_REQUEST_MALFORMED", `multipart body: ${message}`, { field: "(body)" });
}

/** The boundary parameter of a multipart/form-data content type. */
export function multipartBoundary(contentType: string | undefined): string {
  const m = /;\s*boundary=(?:"([^"]+)"|([^;\s]+))/i.exec(contentType ?? "");
  const boundary = m?.[1] ?? m?.[2];
  if (!boundary || boundary.length > 200) throw malformed("the Content-Type has no boundary");
  return boundary;
}

/** Text fields of a multipart/form-data body (a repeated field keeps its last value). */
export function parseMultipart(body: Buffer, boundary: string): Record<string, string> {
  const delimiter = Buffer.from(`--${boundary}`);
  const fields: Record<string, string> = {};
  let at = body.indexOf(delimiter);
  if (at < 0) throw malformed("no part starts with the boundary");
  for (;;) {
    at += delimiter.length;
    if (body.subarray(at, at + 2).toString("latin1") === "--") return fields; // the closing delimiter
    const headersEnd = body.indexOf("\r\n\r\n", at);
    if (headersEnd < 0) throw malformed("a part has no end of headers");
    const headers = body.subarray(at, headersEnd).toString("utf8");
    const next = body.indexOf(Buffer.concat([Buffer.from("\r\n"), delimiter]), headersEnd + 4);
    if (next < 0) throw malformed("the body ends before the closing boundary");
    const disposition = /^content-disposition:\s*form-data(.*)$/im.exec(headers)?.[1] ?? "";
    const name = /;\s*name="([^"]*)"/i.exec(disposition)?.[1] ?? /;\s*name=([^;\s]+)/i.exec(disposition)?.[1];
    if (name === undefined) throw malformed("a part has no Content-Disposition name");
    if (/;\s*filename\*?=/i.test(disposition)) {
      throw new ChorusError("CHORUS_ERR_REQUEST_INVALID", `${name}: file uploads are not accepted here; send it as a text field`, { field: name });
    }
    fields[name] = body.subarray(headersEnd + 4, next).toString("utf8");
    at = next + 2;
  }
}
