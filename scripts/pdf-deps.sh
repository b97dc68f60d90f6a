#!/usr/bin/env bash
# Debian's packages that credit-note PDFs need, installed if missing: Pango (WeasyPrint lays out with it),
# Liberation fonts (the documents' typeface), and poppler-utils (pdftotext/pdftoppm, used by the tests).
set -euo pipefail
missing=()
ldconfig -p | grep -q 'libpangoft2-1.0.so.0' || missing+=(libpango-1.0-0 libpangoft2-1.0-0)
fc-list 2>/dev/null | grep -q 'LiberationSans-Regular' || missing+=(fonts-liberation2 fontconfig)
command -v pdftotext >/dev/null || missing+=(poppler-utils)
if [ ${#missing[@]} -gt 0 ]; then
  echo "pdf-deps: installing Debian's ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
