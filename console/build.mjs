// Builds the console into dist/: index.html, hashed assets under assets/, and manifest.json.
// index.html refers to its assets by relative URLs, so it must be served at a URL ending in "/console/".
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { gzipSync } from "node:zlib";
import path from "node:path";

const outdir = "dist";
await rm(outdir, { recursive: true, force: true });
await mkdir(path.join(outdir, "assets"), { recursive: true });

const result = await build({
  entryPoints: { app: "src/main.ts" },
  bundle: true,
  minify: true,
  format: "esm",
  target: ["es2022"],
  outdir: path.join(outdir, "assets"),
  entryNames: "[name]-[hash]",
  metafile: true,
  legalComments: "none",
  drop: ["debugger"],
  logLevel: "warning",
});

const outputs = Object.keys(result.metafile.outputs).map((p) => path.relative(outdir, p).split(path.sep).join("/"));
const js = outputs.find((p) => p.endsWith(".js"));
const css = outputs.find((p) => p.endsWith(".css"));
if (!js || !css) throw new Error(`build: expected one .js and one .css output, got ${outputs.join(", ")}`);

const iconBody = await readFile("favicon.svg");
const icon = `assets/favicon-${createHash("sha256").update(iconBody).digest("hex").slice(0, 8)}.svg`;
await writeFile(path.join(outdir, icon), iconBody);

const html = (await readFile("index.html", "utf8"))
  .replace("%APP_JS%", js)
  .replace("%APP_CSS%", css)
  .replace("%ICON%", icon);
await writeFile(path.join(outdir, "index.html"), html);

const types = { ".svg": "image/svg+xml", ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8" };
const files = [];
let gzipTotal = 0;
for (const p of ["index.html", js, css, icon]) {
  const body = await readFile(path.join(outdir, p));
  const gz = gzipSync(body, { level: 9 }).length;
  gzipTotal += gz;
  files.push({
    path: p,
    contentType: types[path.extname(p)],
    cacheControl: p === "index.html" ? "no-store" : "public, max-age=31536000, immutable",
    bytes: body.length,
    gzipBytes: gz,
    sha256: createHash("sha256").update(body).digest("hex"),
  });
}
await writeFile(path.join(outdir, "manifest.json"), JSON.stringify({ entry: "index.html", js, css, icon, files }, null, 2) + "\n");

const limit = 100 * 1024;
console.log(`console: ${files.map((f) => `${f.path} ${f.bytes} B (${f.gzipBytes} B gzip)`).join(", ")}; first load ${gzipTotal} B gzip`);
if (gzipTotal > limit) {
  console.error(`console: first load is ${gzipTotal} B gzip, over the ${limit} B budget`);
  process.exit(1);
}
