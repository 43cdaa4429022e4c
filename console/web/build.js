#!/usr/bin/env node
// Build step of the operator console: copies what the pages need from the npm packages into
// vendor/ (Leaflet's script, stylesheet and images), so the dispatcher serves everything itself
// and the browser never fetches from a CDN. Run after `npm ci`: `npm run build`.
// vendor/ and node_modules/ are build products (see .gitignore).
'use strict';
const fs = require('fs');
const path = require('path');

const here = __dirname;
const vendor = path.join(here, 'vendor');

// [package, file or folder inside it, destination under vendor/]
const COPIES = [
  ['leaflet', 'dist/leaflet.js', 'leaflet/leaflet.js'],
  ['leaflet', 'dist/leaflet.css', 'leaflet/leaflet.css'],
  ['leaflet', 'dist/images', 'leaflet/images'],
  ['leaflet', 'LICENSE', 'leaflet/LICENSE'],
];

function copy(src, dst) {
  const st = fs.statSync(src);
  if (st.isDirectory()) {
    fs.mkdirSync(dst, { recursive: true });
    for (const name of fs.readdirSync(src)) copy(path.join(src, name), path.join(dst, name));
  } else {
    fs.mkdirSync(path.dirname(dst), { recursive: true });
    fs.copyFileSync(src, dst);
  }
}

fs.rmSync(vendor, { recursive: true, force: true });
for (const [pkg, file, dst] of COPIES) {
  let root;
  try {
    root = path.dirname(require.resolve(`${pkg}/package.json`, { paths: [here] }));
  } catch (e) {
    console.error(`build.js: npm package ${pkg} is not installed: run "npm ci" in ${here}`);
    process.exit(1);
  }
  copy(path.join(root, file), path.join(vendor, dst));
}
const version = require(require.resolve('leaflet/package.json', { paths: [here] })).version;
console.log(`build.js: vendor/leaflet ${version} ready`);
