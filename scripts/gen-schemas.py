"""Write the JSON Schemas of the MQTT contract from the models that produce it.

Run from the repository root after changing a payload model (edge/sync/payloads.py) or a record
body (edge/core/records.py):

    .venv/bin/python scripts/gen-schemas.py [FOLDER]      (default: edge/sync/schemas)

It writes one schema per payload (``records.json``, ``ack.json``, …) and one per record kind
(``records/access.json``, ``records/door.json``, …). tests/sync/test_record_schemas.py fails
while the committed files differ from what this writes.
"""

from __future__ import annotations

import sys
from pathlib import Path

from edge.sync.payloads import SCHEMA_DIR, write_schemas


def main(argv: list[str]) -> int:
    folder = Path(argv[0]) if argv else SCHEMA_DIR
    for path in write_schemas(folder):
        print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
