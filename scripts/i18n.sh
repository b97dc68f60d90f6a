#!/usr/bin/env bash
# Refresh the plugin's translation template from the code, merge it into the nb_NO catalogue and compile it.
# After running it, translate any new or fuzzy entries in wp-plugin/refunder/languages/refunder-nb_NO.po
# and run it again. Counts use _n() (singular and plural; nb_NO has two forms). Needs gettext (Debian package gettext).
set -euo pipefail
cd "$(dirname "$0")/../wp-plugin/refunder"
xgettext --language=PHP --from-code=UTF-8 --add-comments=translators: --package-name=Refunder --package-version=0.1.0 --sort-by-file \
  --keyword=__ --keyword=_e --keyword=esc_html__ --keyword=esc_html_e --keyword=esc_attr__ --keyword=esc_attr_e \
  --keyword=_x:1,2c --keyword=_ex:1,2c --keyword=esc_html_x:1,2c --keyword=esc_attr_x:1,2c \
  --keyword=_n:1,2 --keyword=_nx:1,2,4c --keyword=_n_noop:1,2 --keyword=_nx_noop:1,2,3c \
  -o languages/refunder.pot refunder.php includes/*.php
sed -i '/^"POT-Creation-Date: /d' languages/refunder.pot  # no churn when nothing changed
msgmerge --quiet --update --backup=none languages/refunder-nb_NO.po languages/refunder.pot
sed -i '/^"POT-Creation-Date: /d' languages/refunder-nb_NO.po
msgfmt --check -o languages/refunder-nb_NO.mo languages/refunder-nb_NO.po
