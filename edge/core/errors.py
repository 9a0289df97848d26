"""One root for every error edge-gate raises on purpose, with a family per concern.

As in gpiozero's ``exc.py``: catch :class:`EdgeGateError` for "anything of ours", a family for
one concern, or the concrete class. Concrete classes also derive from the built-in a caller
would naturally expect (``ValueError`` for bad input, ``ConnectionError`` for a link that is
down, ``RuntimeError`` for a device), so code written against the built-ins keeps working.
The concrete classes live beside the code that raises them; only the families live here.
"""

from __future__ import annotations


class EdgeGateError(Exception):
    """Root of every error edge-gate raises on purpose."""


class ConfigurationError(EdgeGateError):
    """A local configuration or settings file that cannot be used (the service exits 78)."""


class InputError(EdgeGateError):
    """Outside input refused: too large, too deep, malformed or of the wrong kind."""


class CredentialError(InputError):
    """A scanned credential that cannot be read or verified (the gate refuses it with a reason)."""


class HardwareError(EdgeGateError):
    """A device of the gate — camera, pins, sensor — that cannot be used."""


class StorageError(EdgeGateError):
    """The local store cannot read or write."""


class SyncError(EdgeGateError):
    """MQTT sync with the central platform: the link, uplink or downlink."""


class ConsoleError(EdgeGateError):
    """A guard console request that cannot be carried out."""
