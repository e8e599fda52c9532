"""Journal-system adapters against real peers on loopback."""
