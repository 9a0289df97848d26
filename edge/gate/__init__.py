"""The gate's judgement and its door: credentials read and verified offline, the community's
rules and the pure decision core, and the door's state machine and hardware."""
