#!/usr/bin/env node
// Compiles the venue's own contracts (contracts/*.sol) with the pinned solc-js from npm, offline,
// and writes one artifact per contract (ABI + bytecode + compiler settings) to artifacts/.
//
//   node src/venue/chain/compile.mjs              write artifacts/
//   node src/venue/chain/compile.mjs --out DIR    write to DIR instead
//   node src/venue/chain/compile.mjs --check      exit 1 if artifacts/ differ from a fresh compile
//
// Imports (@openzeppelin/..., @tokenysolutions/t-rex/...) resolve from the nearest node_modules.
// T-REX pins `pragma solidity 0.8.17;` in every file; the only T-REX file the venue imports is the
// IModule interface (no code, only the ABI), so its pragma is widened to ^0.8.17 here and nowhere
// else. The Python tests check the module's ABI against T-REX's own compiled IModule artifact.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { createRequire } from "node:module";

const HERE = path.dirname(fileURLToPath(import.meta.url));
const CONTRACTS_DIR = path.join(HERE, "contracts");
const ARTIFACTS_DIR = path.join(HERE, "artifacts");

export const SOLC_VERSION = "0.8.28";
export const SETTINGS = {
  evmVersion: "cancun",
  optimizer: { enabled: true, runs: 100000 },
  viaIR: true,
  metadata: { bytecodeHash: "ipfs" },
  outputSelection: {
    "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] },
  },
};
// Files whose exact-version pragma is widened (see the header).
const WIDEN_PRAGMA = new Set([
  "@tokenysolutions/t-rex/contracts/compliance/modular/modules/IModule.sol",
]);

function findNodeModules(start) {
  let dir = start;
  for (;;) {
    const candidate = path.join(dir, "node_modules");
    if (fs.existsSync(path.join(candidate, "solc"))) return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error("node_modules with solc not found above " + start + "; run `npm ci`");
    dir = parent;
  }
}

const NODE_MODULES = process.env.VENUE_NODE_MODULES || findNodeModules(HERE);
const require = createRequire(path.join(NODE_MODULES, "noop.js"));
const solc = require("solc");

function readImport(unitName) {
  const file = path.join(NODE_MODULES, unitName);
  if (!file.startsWith(NODE_MODULES + path.sep) || !fs.existsSync(file)) {
    return { error: "import not found: " + unitName };
  }
  let contents = fs.readFileSync(file, "utf8");
  if (WIDEN_PRAGMA.has(unitName)) {
    contents = contents.replace("pragma solidity 0.8.17;", "pragma solidity ^0.8.17;");
  }
  return { contents };
}

export function compile() {
  const actual = solc.version();
  if (!actual.startsWith(SOLC_VERSION + "+")) {
    throw new Error(`solc ${actual} found, ${SOLC_VERSION} pinned: run \`npm ci\``);
  }
  const sources = {};
  for (const name of fs.readdirSync(CONTRACTS_DIR).filter((f) => f.endsWith(".sol")).sort()) {
    sources["venue/" + name] = { content: fs.readFileSync(path.join(CONTRACTS_DIR, name), "utf8") };
  }
  const input = { language: "Solidity", sources, settings: SETTINGS };
  const output = JSON.parse(solc.compile(JSON.stringify(input), { import: readImport }));
  const errors = (output.errors || []).filter((e) => e.severity === "error");
  // Warnings about the venue's own sources are shown; those inside node_modules are not ours to fix.
  for (const e of output.errors || []) {
    const own = (e.sourceLocation?.file || "venue/").startsWith("venue/");
    if (e.severity === "error" || own) process.stderr.write(e.formattedMessage + "\n");
  }
  if (errors.length) throw new Error(`${errors.length} compile error(s)`);

  const artifacts = {};
  for (const sourceName of Object.keys(sources)) {
    for (const [contractName, c] of Object.entries(output.contracts[sourceName] || {})) {
      if (!c.evm.bytecode.object) continue; // interfaces and abstract contracts
      artifacts[contractName] = {
        contractName,
        sourceName,
        abi: c.abi,
        bytecode: "0x" + c.evm.bytecode.object,
        deployedBytecode: "0x" + c.evm.deployedBytecode.object,
        compiler: { name: "solc", version: actual, settings: { ...SETTINGS, outputSelection: undefined } },
      };
    }
  }
  return artifacts;
}

function render(artifact) {
  return JSON.stringify(artifact, null, 2) + "\n";
}

function main(argv) {
  const started = Date.now();
  const artifacts = compile();
  if (argv.includes("--check")) {
    let stale = 0;
    for (const [name, artifact] of Object.entries(artifacts)) {
      const file = path.join(ARTIFACTS_DIR, name + ".json");
      const committed = fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
      if (committed !== render(artifact)) {
        process.stderr.write(`stale artifact: ${name}\n`);
        stale += 1;
      }
    }
    process.stdout.write(`checked ${Object.keys(artifacts).length} artifacts, ${stale} stale\n`);
    process.exit(stale ? 1 : 0);
  }
  const outIdx = argv.indexOf("--out");
  const outDir = outIdx >= 0 ? argv[outIdx + 1] : ARTIFACTS_DIR;
  fs.mkdirSync(outDir, { recursive: true });
  for (const [name, artifact] of Object.entries(artifacts)) {
    fs.writeFileSync(path.join(outDir, name + ".json"), render(artifact));
  }
  process.stdout.write(
    `compiled ${Object.keys(artifacts).join(", ")} with solc ${solc.version()} in ${Date.now() - started} ms\n`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2));
}
