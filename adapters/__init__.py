"""Adapters that connect journal systems (region side) and case systems (kommun side)."""
