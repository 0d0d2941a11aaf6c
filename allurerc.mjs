// Allure 3 configuration: renders the suite's allure-pytest results into one offline HTML file.
//
//   npm ci && npm run allure:report          # reports/allure-results -> reports/allure-report/index.html
//   PP_ALLURE_RESULTS=DIR PP_ALLURE_REPORT=OUT npm run allure:report    # other directories
//
// `npm run allure:report` is `node allurerc.mjs --check-results && allure generate --config allurerc.mjs &&
// node allurerc.mjs`: the first command refuses a results folder without a single test result (an empty folder
// renders an empty, green report), the second renders with this configuration, the third strips the Google
// Analytics tag that
// Allure 3.18 always writes into the page (not configurable yet: allure-framework/allure3#476), so the report
// opens from file:// without contacting anything.
//
// - singleFile: the awesome report's scripts, styles and data are inlined into index.html; the multi-file
//   report fetches its data and does not load from file://.
// - categories: Allure 3 does not read categories.json from the results directory (only its allure2/classic
//   plugins do); it takes them from this file. They are read from <results>/categories.json, which the suite
//   writes (ppconformance.plugin.allure_meta), with the same list below as the fallback.
// - environment: Allure 3 reads <results>/environment.properties itself (the overview's Environment widget).
//
// No `import { defineConfig } from "allure"`: importing the package runs its command line.
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const resultsDir = resolve(here, process.env.PP_ALLURE_RESULTS || "reports/allure-results");
const output = resolve(here, process.env.PP_ALLURE_REPORT || "reports/allure-report");

// The fallback of <results>/categories.json; keep equal to ppconformance.plugin.allure_meta.CATEGORIES.
const CATEGORIES = [
  { name: "Non-conformance (the target does not conform)", matchedStatuses: ["failed"] },
  { name: "Error of the run (could not judge: unreachable, 5xx, auth)", matchedStatuses: ["broken"] },
  { name: "Not judged / skipped", matchedStatuses: ["skipped"] },
];

function categories() {
  const path = join(resultsDir, "categories.json");
  if (!existsSync(path)) return CATEGORIES;
  try {
    const rules = JSON.parse(readFileSync(path, "utf-8"));
    return Array.isArray(rules) && rules.length ? rules : CATEGORIES;
  } catch {
    return CATEGORIES;
  }
}

export default {
  name: "Partner Program conformance",
  resultsDir,
  output,
  categories: { rules: categories() },
  plugins: {
    awesome: {
      options: {
        singleFile: true,
        reportLanguage: "en",
        theme: "light",
        groupBy: ["feature", "story"],
      },
    },
  },
};

// `node allurerc.mjs`: remove the analytics tag (external gtag.js script and its inline gtag() block).
function stripAnalytics(file) {
  const html = readFileSync(file, "utf-8");
  const cleaned = html
    .replace(/<script async src="https:\/\/www\.googletagmanager\.com\/[^"]*"><\/script>\s*/g, "")
    .replace(/<script>\s*window\.dataLayer[\s\S]*?<\/script>\s*/g, "");
  if (/googletagmanager|gtag\(/.test(cleaned)) {
    console.error(`allurerc.mjs: could not remove the analytics tag from ${file}`);
    process.exit(1);
  }
  writeFileSync(file, cleaned, "utf-8");
  console.log(`offline report: ${file}`);
}

// `node allurerc.mjs --check-results`: exit 1, saying why, when the results folder holds no test result.
function checkResults() {
  const results = existsSync(resultsDir) ? readdirSync(resultsDir).filter((f) => f.endsWith("-result.json")) : [];
  if (results.length === 0) {
    console.error(
      `allure:report: ${resultsDir} holds no test result (${existsSync(resultsDir) ? "empty" : "missing"}): ` +
        "run the conformance suite first (pytest, or pp-conformance; its --reports-dir names the folder: " +
        "PP_ALLURE_RESULTS=<reports>/allure-results npm run allure:report)",
    );
    process.exit(1);
  }
  console.log(`allure:report: ${results.length} test results in ${resultsDir}`);
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url) && process.argv[2] === "--check-results") {
  checkResults();
} else if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const index = join(output, "index.html");
  if (!existsSync(index)) {
    console.error(`allurerc.mjs: ${index} not found (run allure generate --config allurerc.mjs first)`);
    process.exit(1);
  }
  stripAnalytics(index);
}
