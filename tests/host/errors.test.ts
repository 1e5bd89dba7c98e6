import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { ChorusError, ERRORS } from "../../core/errors.ts";

describe("error catalogue", () => {
  it("is documented exactly in docs/errors.md", () => {
    const doc = fs.readFileSync(new URL("../../docs/errors.md", import.meta.url), "utf8");
    const rows = [...doc.matchAll(/^\| `(CHORUS_ERR_[A-Z_]+)` \| (\d{3}) \| (.+) \|$/gm)].map((m) => [m[1], Number(m[2]), m[3]]);
    const catalogue = Object.entries(ERRORS).map(([code, e]) => [code, e.status, e.summary]);
    expect(rows).toEqual(catalogue);
  });

  it("renders code, message and field", () => {
    const err = new ChorusError("CHORUS_ERR_VOICE_NOT_FOUND", "no voice 'x'", { field: "voice" });
    expect(err.statusCode).toBe(404);
    expect(err.toJSON()).toEqual({ error: { code: "CHORUS_ERR_VOICE_NOT_FOUND", message: "no voice 'x'", field: "voice" } });
  });
});
