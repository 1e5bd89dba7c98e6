/** The native surface's errors: the catalogue's shape, `{"error":{"code","message","field"?}}`. */
import { toChorusError } from "../errors.ts";
import type { Surface } from "../surface.ts";

export const catalogueSurface: Surface = {
  name: "native",
  render(error) {
    const err = toChorusError(error);
    return { status: err.statusCode, body: err.toJSON(), retryAfter: err.retryAfter, cause: err };
  },
};
