"""The door: its pure state machine, the access policy that belongs to it (schedules,
anti-passback), and its hardware (relay, contact, buttons, fire input, lights) behind gpiozero."""
