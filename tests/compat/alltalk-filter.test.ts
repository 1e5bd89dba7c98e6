/**
 * AllTalk text filtering on malformed input: it runs on the event loop, so it must stay linear
 * in the text (the regexes it replaced took quadratic time on unclosed markup: 160 KB of `[a](`
 * took 8.6 s). Timings are compared between sizes, never against a clock.
 */
import { describe, expect, it } from "vitest";
import { filterText } from "../../core/text/filter.ts";

const SIZE = 200_000;

/**
 * The best of several runs of each, in ms of this process's CPU time (not wall time, so other
 * processes taking the cores do not count), the two sizes interleaved: the minimum is the least
 * noisy figure for a short synchronous call, and interleaving spreads a garbage collection over both.
 */
function bestTimes(small: () => void, large: () => void): [number, number] {
  const best = [Infinity, Infinity] as [number, number];
  for (let i = 0; i < 7; i++) {
    [small, large].forEach((run, k) => {
      const start = process.cpuUsage();
      run();
      const used = process.cpuUsage(start);
      best[k] = Math.min(best[k], (used.user + used.system) / 1000);
    });
  }
  return best;
}

/** Both filtering modes that parse markup, on the same text. */
const filterBoth = (text: string) => () => {
  filterText(text, "html");
  filterText(text, "standard");
};

describe("filtering pathological input", () => {
  // Unclosed links and images, comments, script/style and tags, and unclosed `*`.
  it.each(["[a](", "![a](", "[", "[a]", "<!--", "<script>", "<style a", "<a", "*"])("%j repeated to 200 KB finishes, in time linear in its length", (unit) => {
    const text = (size: number) => unit.repeat(Math.ceil(size / unit.length));
    filterBoth(text(1000))(); // warm up the JIT, so the first timing is not the slow one
    // The same amount of text both ways: 32 pieces of 1/32 of the size, or all of it at once.
    // Linear: about the same time; quadratic: about 32 times as long at once. The bound is their
    // geometric mean, so neither a loaded machine (shared caches, a sibling hyperthread) nor a
    // timer's granularity decides it.
    const piece = filterBoth(text(SIZE / 32));
    const [pieces, whole] = bestTimes(
      () => {
        for (let i = 0; i < 32; i++) piece();
      },
      filterBoth(text(SIZE)),
    );
    expect(whole / Math.max(pieces, 0.05)).toBeLessThan(Math.sqrt(32));
  });

  it("keeps what the regexes did on well-formed and half-formed markup", () => {
    expect(filterText("a<!-- x -->b<!-- y", "html")).toBe("ab<!-- y");
    expect(filterText("a<!-->b-->c", "html")).toBe("ac");
    expect(filterText("x<SCRIPT type=a>1</script >y<style>p{}</STYLE>z", "html")).toBe("xyz");
    // An unclosed script is left to the tag pass (its body stays); a later style still closes.
    expect(filterText("<script>var a<style>b</style>c", "html")).toBe("var ac");
    expect(filterText("<scriptx>a</scriptx> <p>b", "html")).toBe("a\nb");
    expect(filterText("a <b>bold</b> <i unclosed", "html")).toBe("a bold <i unclosed");
    expect(filterText("[x](u) ![alt](i.png) [](e) [a] (b) [[n](m)] [o](p", "standard")).toBe("x alt (e) a (b) n o (p");
    expect(filterText("![](i) [a [b](c)", "standard")).toBe("a b");
  });
});
