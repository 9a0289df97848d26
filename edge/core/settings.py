"""The one base of every settings section: unknown keys are errors, values are immutable.

Each package owns its settings in its own ``settings.py``; :mod:`edge.app.config` only composes
them into one file and checks across sections.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Section(BaseModel):
    """A settings table of the local config file: a misspelt key is refused, never ignored."""

    model_config = ConfigDict(extra="forbid", frozen=True)
