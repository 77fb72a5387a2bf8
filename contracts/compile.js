// Standard-JSON in on stdin, standard-JSON out on stdout, through solc-js from node_modules.
// The Python side (agreemint/chain/compiler.py) builds the input and writes contracts/build/.
// `solcjs --standard-json` is not used: it prints an SMT notice on stdout before the JSON.
"use strict";
const fs = require("fs");
const path = require("path");

const root = path.resolve(__dirname, "..");
const solc = require(path.join(root, "node_modules", "solc"));

// Imports resolve against the repository root (our sources) and node_modules (OpenZeppelin).
const roots = [root, path.join(root, "node_modules")];
function findImports(importPath) {
  for (const base of roots) {
    const file = path.join(base, importPath);
    if (fs.existsSync(file)) return { contents: fs.readFileSync(file, "utf8") };
  }
  return { error: "File not found: " + importPath };
}

if (process.argv.includes("--version")) {
  process.stdout.write(solc.version() + "\n");
} else {
  process.stdout.write(solc.compile(fs.readFileSync(0, "utf8"), { import: findImports }));
}
