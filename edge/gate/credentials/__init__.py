"""Credentials the camera reads — community passes, EU DCC (HC1), SMART Health Cards, regional
health codes — parsed and verified against the trust store, as plain immutable values."""
