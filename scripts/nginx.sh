#!/usr/bin/env bash
# Print the path of an nginx binary for the tests that run the sidecar behind nginx (tests/deploy/).
# Installs Debian's nginx if it is missing, without starting the system's nginx service: the tests run
# their own private instance on loopback (own prefix, pid file and temporary directories).
set -euo pipefail
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
  echo "nginx: installing Debian's nginx" >&2
  export DEBIAN_FRONTEND=noninteractive
  made_policy=
  if [ ! -e /usr/sbin/policy-rc.d ]; then  # Debian's way to keep a package's service from starting
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && made_policy=1
  fi
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends nginx >/dev/null
  if [ -n "$made_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
fi
command -v nginx || echo /usr/sbin/nginx
