// node check.mjs REPORT.html [REPORT.md ...]
//
// Opens REPORT.html in Debian's headless Chromium and says, as one JSON object on
// stdout, what a reader's browser met: console errors, page errors, every request
// that was not for the page itself (a self-contained report makes none), and for
// each picture (figure.picture) its SVG's id, drawn size and number of text
// elements. Then it parses and renders every ```mermaid block of each REPORT.md with
// Mermaid's own code (its browser bundle, loaded into a blank page), as GitHub and
// GitLab would. The Rust test (exercises/tests/report_html.rs) judges the object.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import { chromium } from "playwright-core";

const require = createRequire(import.meta.url);
const [html, ...markdowns] = process.argv.slice(2);
if (!html) {
  console.error("usage: node check.mjs REPORT.html [REPORT.md ...]");
  process.exit(2);
}
const executablePath = process.env.CHROMIUM || "/usr/bin/chromium";
const browser = await chromium.launch({
  executablePath,
  // As root in a container or CI job: no sandbox. The rest keeps Chromium off a
  // network this machine does not have.
  args: [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const result = { console_errors: [], page_errors: [], requests: [], pictures: [], mermaid: [] };
try {
  const page = await browser.newPage();
  const pageUrl = pathToFileURL(html).href;
  page.on("console", (m) => {
    if (m.type() === "error") result.console_errors.push(m.text());
  });
  page.on("pageerror", (e) => result.page_errors.push(String(e)));
  page.on("request", (r) => {
    if (r.url() !== pageUrl) result.requests.push(r.url());
  });
  await page.goto(pageUrl, { waitUntil: "load" });
  result.title = await page.title();
  result.pictures = await page.$$eval("figure.picture", (figs) =>
    figs.map((f) => {
      const svg = f.querySelector("svg");
      const box = svg ? svg.getBoundingClientRect() : { width: 0, height: 0 };
      return {
        picture: f.dataset.picture,
        svg_id: svg ? svg.id : null,
        width: Math.round(box.width),
        height: Math.round(box.height),
        texts: svg ? svg.querySelectorAll("text").length : 0,
        grey: svg ? svg.querySelectorAll(".grey").length : 0,
        caption: (f.querySelector("figcaption") || {}).textContent || "",
      };
    }),
  );

  const mm = await browser.newPage();
  mm.on("pageerror", (e) => result.page_errors.push("mermaid page: " + String(e)));
  await mm.setContent("<!DOCTYPE html><html><body></body></html>");
  await mm.addScriptTag({ path: require.resolve("mermaid/dist/mermaid.min.js") });
  await mm.evaluate(() => window.mermaid.initialize({ startOnLoad: false }));
  for (const md of markdowns) {
    const blocks = [];
    let cur = null;
    for (const line of readFileSync(md, "utf8").split("\n")) {
      if (cur === null && line.trim() === "```mermaid") cur = [];
      else if (cur !== null && line.trim() === "```") {
        blocks.push(cur.join("\n"));
        cur = null;
      } else if (cur !== null) cur.push(line);
    }
    for (const [i, text] of blocks.entries()) {
      const r = await mm.evaluate(
        async ([text, id]) => {
          try {
            const parsed = await window.mermaid.parse(text);
            const { svg } = await window.mermaid.render(id, text);
            return { ok: true, type: parsed.diagramType, svg_bytes: svg.length };
          } catch (e) {
            return { ok: false, error: String(e && e.message ? e.message : e) };
          }
        },
        [text, `m${i}`],
      );
      result.mermaid.push({ file: md, block: i, ...r });
    }
  }
} finally {
  await browser.close();
}
console.log(JSON.stringify(result));
