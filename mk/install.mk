# Install on a Raspberry Pi as the edge-gate systemd service (included from the Makefile).
#
#   sudo make install                       install or update, unit enabled (not started)
#   sudo make install INSTALL_ARGS="--issuer-key issuer.pub --start"
#   make install-dry-run                    print every step, change nothing
#   sudo make arm64-check                   the wheel on an arm64 Debian userland under qemu
#   make lock                               regenerate constraints/ (the exact versions)
#   make wheel                              build dist/edge_gate-*.whl
#   make sdist                              build dist/edge_gate-*.tar.gz (installer, locks)
#
# scripts/install-pi.sh does the work; see docs/install.md.

.PHONY: install install-dry-run arm64-check lock wheel sdist

ARM64_ARGS ?=

# Not part of `make test`: 15-30 min the first time (debootstrap), minutes after that.
arm64-check:
	scripts/arm64-check.sh $(ARM64_ARGS)

lock:
	scripts/lock-constraints.sh

wheel:
	$(VENV)/bin/python -m pip wheel --no-deps -w dist .

sdist:
	$(VENV)/bin/python -c 'from setuptools import build_meta as b; print(b.build_sdist("dist"))'

INSTALL_ARGS ?=

install:
	scripts/install-pi.sh $(INSTALL_ARGS)

install-dry-run:
	scripts/install-pi.sh --dry-run $(INSTALL_ARGS)
