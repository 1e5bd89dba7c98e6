/** The confinement helpers every dataset and model path check uses (core/finetune/confine.ts). */
import fs from "node:fs";
import path from "node:path";
import { expect, it } from "vitest";
import { isInside, isUnder } from "../../core/finetune/confine.ts";
import { tempDir } from "../helpers/temp.ts";

it("isUnder: the root itself and what lies below it, not a sibling sharing its prefix", () => {
  const root = path.join(path.sep, "data", "sets");
  expect(isUnder(root, [root])).toBe(true);
  expect(isUnder(path.join(root, "a", "x.wav"), [root])).toBe(true);
  expect(isUnder(`${root}-other${path.sep}x.wav`, [root])).toBe(false);
  expect(isUnder(path.join(path.sep, "data"), [root])).toBe(false);
  expect(isUnder(path.join(root, "x.wav"), [`${root}${path.sep}`])).toBe(true); // a root written with its separator
  expect(isUnder(root, [`${root}${path.sep}`])).toBe(true); // ...is itself too
  expect(isUnder(path.sep, [path.sep])).toBe(true);
  expect(isUnder(path.join(root, "x.wav"), [])).toBe(false);
});

it("isInside follows symlinks and calls a missing file outside", () => {
  const root = fs.realpathSync(tempDir("confine-root"));
  const outside = fs.realpathSync(tempDir("confine-out"));
  fs.writeFileSync(path.join(outside, "secret.wav"), "");
  fs.writeFileSync(path.join(root, "mine.wav"), "");
  fs.symlinkSync(path.join(outside, "secret.wav"), path.join(root, "link.wav"));
  expect(isInside(path.join(root, "mine.wav"), [root])).toBe(true);
  expect(isInside(path.join(root, "link.wav"), [root])).toBe(false);
  expect(isInside(path.join(root, "missing.wav"), [root])).toBe(false);
});
