# Install on a Raspberry Pi as the edge-gate systemd service (included from the Makefile).
#
#   sudo make install                       install or update, unit enabled (not started)
#   sudo make install INSTALL_ARGS="--issuer-key issuer.pub --start"
#   make install-dry-run                    print every step, change nothing
#
# scripts/install-pi.sh does the work; see docs/install.md.

.PHONY: install install-dry-run

INSTALL_ARGS ?=

install:
	scripts/install-pi.sh $(INSTALL_ARGS)

install-dry-run:
	scripts/install-pi.sh --dry-run $(INSTALL_ARGS)
