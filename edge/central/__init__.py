"""The reference central receiver: stores every gate's records once, acknowledges, pushes lists."""
