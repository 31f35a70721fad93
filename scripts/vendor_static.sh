#!/usr/bin/env bash
# Copies the browser files of the npm packages in web/package.json into web/static/vendor/, which the web
# front end serves itself: the pages must work where public CDNs cannot be reached.
# Usage: scripts/vendor_static.sh [NODE_MODULES] [TARGET]   (defaults: web/node_modules web/static/vendor)
# Add a line here when web/package.json gains a package the pages load.
set -euo pipefail
cd "$(dirname "$0")/.."
MODULES=${1:-web/node_modules}
TARGET=${2:-web/static/vendor}
rm -rf "$TARGET.tmp" && mkdir -p "$TARGET.tmp"
copy() {  # copy PACKAGE-RELATIVE-SOURCE TARGET-RELATIVE-DIRECTORY
  mkdir -p "$TARGET.tmp/$2" && cp -R "$MODULES/$1" "$TARGET.tmp/$2/"
}
copy leaflet/dist/leaflet.js leaflet
copy leaflet/dist/leaflet.css leaflet
copy leaflet/dist/images leaflet
copy leaflet/LICENSE leaflet
copy chart.js/dist/chart.umd.min.js chart.js
copy chart.js/LICENSE.md chart.js
# Swapped in whole: a page never sees a half-copied folder.
rm -rf "$TARGET" && mv "$TARGET.tmp" "$TARGET"
